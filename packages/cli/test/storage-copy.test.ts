/**
 * `kai storage copy` end to end: the built CLI copies a stopped node's SQLite data directory into a real
 * PostgreSQL (started by the test; skipped with a message when none is installed, failed under CI). Exit
 * codes as documented; the verification table on stdout, progress on stderr; the URL's password never
 * printed, in success or in failure (the test server trusts loopback, so any password is accepted).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "@kai/server";
import { startPostgres } from "../../server/test/helpers/postgres-server.js";
import { runKai, sandbox, type KaiResult, type Sandbox } from "./helpers.js";

const PASSWORD = "pw-Zq8!never-printed";
const pg = await startPostgres();
let box: Sandbox;
let dataDir: string;

const kai = (args: string[], env: NodeJS.ProcessEnv = {}) => runKai(["storage", "copy", ...args], { cwd: box.dir, env: { ...box.env, ...env } });

function expectNoPassword(result: KaiResult): void {
  expect(result.stdout).not.toContain(PASSWORD);
  expect(result.stderr).not.toContain(PASSWORD);
}

/** The test database's URL with a password in it. */
function withPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = PASSWORD;
  return parsed.toString();
}

beforeAll(async () => {
  box = sandbox();
  dataDir = mkdtempSync(join(tmpdir(), "kai-cli-copy-source-"));
  // A node that ran once (vault in its development default, node key sealed in it) with a service in it.
  const node = await startServer({ dataDir, port: 0, host: "127.0.0.1", quiet: true, env: {} });
  const response = await fetch(`${node.url}/api/services/register`, {
    method: "POST",
    headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ id: "copied-one", name: "copied", description: "", type: "service", capabilities: ["llm_chat"], tags: [], url: "http://127.0.0.1:9/", visibility: "public" }),
  });
  expect(response.status).toBe(201);
  await node.close();
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  box?.cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("kai storage copy (usage)", () => {
  it("needs --from, and a postgres URL from --to or KAI_DATABASE_URL (exit 2)", async () => {
    expect((await kai(["--to", "postgres://kai@127.0.0.1/db"])).code).toBe(2);
    const noTarget = await kai(["--from", dataDir]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain("KAI_DATABASE_URL");
    const notPostgres = await kai(["--from", dataDir, "--to", `mysql://kai:${PASSWORD}@db/kai`]);
    expect(notPostgres.code).toBe(2);
    expectNoPassword(notPostgres);
  });

  it("exits 3 for a data directory without kai.db", async () => {
    const empty = mkdtempSync(join(tmpdir(), "kai-cli-copy-empty-"));
    try {
      const result = await kai(["--from", empty, "--to", `postgres://kai:${PASSWORD}@127.0.0.1:1/kai`]);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/kai\.db.*\(not_found\)/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("fails without printing the password when the database cannot be reached", async () => {
    const result = await kai(["--from", dataDir, "--to", `postgres://kai:${PASSWORD}@127.0.0.1:1/kai`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("postgres://kai:***@127.0.0.1:1/kai");
    expectNoPassword(result);
  }, 30_000);
});

describe.skipIf(!pg)("kai storage copy into PostgreSQL", () => {
  it("copies and prints the verification; refuses the now non-empty target (exit 5); --force copies again (JSON)", async () => {
    const url = withPassword(await pg!.createDatabase("cli_copy"));
    const first = await kai(["--from", dataDir, "--to", url]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^WHAT\s+SOURCE\s+TARGET\s+CHECK$/m);
    expect(first.stdout).toMatch(/^services\s+1\s+1\s+ok$/m);
    expect(first.stdout).toMatch(/^node identity \(DID\)\s+(kind:did:\S+)\s+\1\s+ok$/m);
    expect(first.stdout).not.toContain("DIFFERENT");
    expect(first.stderr).toContain("postgres://kai:***@");
    expect(first.stderr).toMatch(/note: .*audit\.key/);
    expectNoPassword(first);

    const refused = await kai(["--from", dataDir, "--to", url]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/not empty.*--force.*\(conflict\)/);
    expectNoPassword(refused);

    // The URL from the environment this time, as the docs recommend.
    const forced = await kai(["--from", dataDir, "--force", "--json"], { KAI_DATABASE_URL: url });
    expect(forced.code, forced.stderr).toBe(0);
    const report = JSON.parse(forced.stdout) as { ok: boolean; overwritten: string[]; rows: Array<{ ok: boolean }> };
    expect(report.ok).toBe(true);
    expect(report.overwritten.join(", ")).toContain("1 services");
    expect(report.rows.every((row) => row.ok)).toBe(true);
    expectNoPassword(forced);
  }, 60_000);
});
