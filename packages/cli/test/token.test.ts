/**
 * `kai token …` and `kai login` end to end: minting, using, listing and revoking tokens; storing a login.
 */
import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

let server: TestServer;
let box: Sandbox;

const kai = (args: string[], token: string | undefined = server.adminToken, input?: string) =>
  runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, ...(token ? { KAI_TOKEN: token } : {}) }, ...(input !== undefined ? { input } : {}) });

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

describe("kai token", () => {
  it("creates a scoped token that works, lists it, revokes it, and then it gets exit 4", async () => {
    const created = await kai(["token", "create", "--scope", "services:read", "--scope", "services:write", "--owner", "alice", "--ttl", "1h", "--name", "ci"]);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token.split(".")).toHaveLength(3); // a JWT, alone on stdout
    expect(created.stderr).toMatch(/token \S+ for alice \(services:read, services:write\)/);

    const register = await kai(["services", "register", "-f", "-"], token, JSON.stringify({ id: "alice-svc", name: "Alice's" }));
    expect(register.code).toBe(0);
    const mine = JSON.parse((await kai(["services", "get", "alice-svc", "--json"], token)).stdout) as { owner: string };
    expect(mine.owner).toBe("alice");

    const listed = await kai(["token", "list", "--json"]);
    expect(listed.code).toBe(0);
    const info = (JSON.parse(listed.stdout) as { tokens: { id: string; owner: string; name?: string; revokedAt: string | null }[] }).tokens.find((t) => t.name === "ci");
    expect(info).toMatchObject({ owner: "alice", revokedAt: null });
    expect(listed.stdout).not.toContain(token);
    const table = await kai(["token", "list"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+OWNER\s+SCOPES\s+NAME\s+EXPIRES\s+REVOKED$/);

    const revoked = await kai(["token", "revoke", info!.id]);
    expect(revoked.code).toBe(0);
    const refused = await kai(["services", "list"], token);
    expect(refused.code).toBe(4);
  });

  it("--json prints the whole response", async () => {
    const created = await kai(["token", "create", "--scope", "services:heartbeat", "--json"]);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ scopes: ["services:heartbeat"], token: expect.any(String), id: expect.any(String) });
  });

  it("refuses bad flags locally (exit 2) and non-admin callers (exit 4)", async () => {
    expect((await kai(["token", "create", "--scope", "everything"])).code).toBe(2);
    expect((await kai(["token", "create"])).code).toBe(2);
    expect((await kai(["token", "create", "--scope", "services:read", "--ttl", "forever"])).code).toBe(2);
    const reader = (await kai(["token", "create", "--scope", "services:read"])).stdout.trim();
    const forbidden = await kai(["token", "create", "--scope", "admin"], reader);
    expect(forbidden.code).toBe(4);
    expect(forbidden.stderr).toContain("(forbidden)");
  });
});

describe("kai login", () => {
  const loginFile = () => join(box.env.KAI_CONFIG_DIR!, "cli.json");

  it("refuses a token the server refuses, and stores nothing", async () => {
    const result = await kai(["login"], undefined, "not-a-token\n");
    expect(result.code).toBe(4);
    expect(existsSync(loginFile())).toBe(false);
  });

  it("stores URL and token (mode 0600) read from stdin; later commands use them", async () => {
    const result = await kai(["login"], undefined, `${server.adminToken}\n`);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`logged in to ${server.url}`);
    expect(statSync(loginFile()).mode & 0o777).toBe(0o600);
    // No --url, no KAI_TOKEN: everything comes from the stored login.
    const listed = await runKai(["services", "list", "--json"], { cwd: box.dir, env: box.env });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toHaveProperty("services");
  });

  it("reads the token from --token-file", async () => {
    const file = join(box.dir, "token.txt");
    writeFileSync(file, `${server.adminToken}\n`, { mode: 0o600 });
    const result = await kai(["login", "--token-file", file, "--json"], undefined);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ url: server.url, owner: expect.any(String) });
  });
});
