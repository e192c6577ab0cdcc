/**
 * A signed-in person's own API tokens with the built CLI against a real server: `kai me token` mints them (as
 * `create` and as the `--scope` shorthand), `kai me token list` shows them without their values, and
 * `kai me token revoke` stops one at once; someone else's token id is not found (exit 3), as an unknown one is.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, KaiApiError } from "@kai/sdk";
import { runKai, sandbox, signInFirstAdmin, startTestServer, type KaiResult, type Sandbox, type TestServer } from "./helpers.js";

const PASSWORD = "mia's long enough password";
let server: TestServer;
let box: Sandbox;
let othersTokenId: string;

beforeAll(async () => {
  server = await startTestServer({ rateLimit: { enabled: false }, auth: { signIn: { password: { memoryKiB: 1024, iterations: 1 } } } });
  box = sandbox();
  const admin = await signInFirstAdmin(server);
  await admin.users.create({ username: "mia", password: PASSWORD, roles: ["developer"] });
  othersTokenId = (await admin.me.createToken({ scopes: ["services:read"], name: "admin's own" })).id;
});

afterAll(async () => {
  await server?.close();
  box?.cleanup();
});

const kai = (args: string[], input?: string): Promise<KaiResult> =>
  runKai(["--url", server.url, ...args], { cwd: box.dir, env: box.env, ...(input !== undefined ? { input } : {}) });

interface ListedToken {
  id: string;
  owner: string;
  scopes: string[];
  name?: string;
  revokedAt: string | null;
}
const listed = async (): Promise<ListedToken[]> => {
  const result = await kai(["me", "token", "list", "--json"]);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { tokens: ListedToken[] }).tokens;
};

/** Whether a token is accepted by the API (a call any holder of services:read may make). */
async function works(token: string): Promise<boolean> {
  try {
    await createClient({ url: server.url, token }).services.list();
    return true;
  } catch (error) {
    if (error instanceof KaiApiError && error.status === 401) return false;
    throw error;
  }
}

describe("kai me token", () => {
  it("mints, lists and revokes the signed-in user's own tokens", async () => {
    expect((await kai(["login", "--username", "mia", "--password-stdin"], `${PASSWORD}\n`)).code).toBe(0);
    expect(await listed()).toEqual([]);

    const short = await kai(["me", "token", "--scope", "services:read", "--name", "ci"]);
    expect(short.code, short.stderr).toBe(0);
    const ciToken = short.stdout.trim();
    const created = await kai(["me", "token", "create", "--scope", "services:read,services:write", "--name", "deploy", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const deploy = JSON.parse(created.stdout) as { id: string; token: string };

    const tokens = await listed();
    expect(tokens.map((token) => token.name).sort()).toEqual(["ci", "deploy"]);
    expect(tokens.every((token) => token.owner === "mia" && token.revokedAt === null)).toBe(true);
    const table = await kai(["me", "tokens", "ls"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+SCOPES\s+NAME\s+CREATED\s+EXPIRES\s+REVOKED/);
    expect(table.stdout).toContain(deploy.id);
    // Listings never carry a token's value.
    for (const secret of [ciToken, deploy.token]) expect(JSON.stringify(tokens) + table.stdout).not.toContain(secret);

    expect(await works(deploy.token)).toBe(true);
    const revoked = await kai(["me", "token", "revoke", deploy.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stderr).toContain(`revoked ${deploy.id}`);
    expect(await works(deploy.token)).toBe(false);
    expect(await works(ciToken)).toBe(true);
    expect((await listed()).find((token) => token.id === deploy.id)?.revokedAt).not.toBeNull();
  }, 60_000);

  it("someone else's token, or an unknown one, is not found (exit 3) and stays as it was", async () => {
    const others = await kai(["me", "token", "revoke", othersTokenId]);
    expect(others.code).toBe(3);
    expect(others.stderr).toContain("(not_found)");
    expect((await kai(["me", "token", "revoke", "no-such-token"])).code).toBe(3);
    expect((await listed()).map((token) => token.id)).not.toContain(othersTokenId);
  });

  it("without a command or --scope it shows its help and exits 2", async () => {
    const bare = await kai(["me", "token"]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("list");
  });
});
