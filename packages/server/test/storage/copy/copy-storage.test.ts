/**
 * `copyStorage` (kai storage copy) end to end: a real node built through its API is stopped, its SQLite data
 * directory copied into another backend, verified kind by kind, and a real node started on the copy serves
 * the same data as the same node (target-checks.ts). Refusals: a missing source, a source a server has open,
 * a node key that is still a plain file, and a target that is not empty unless forced (then it is emptied).
 * Targets: SQLite (always) and a real PostgreSQL started by the test (skipped with a message when none is
 * installed, failed under CI).
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyStorage, postgresTarget, type CopyReport } from "../../../src/storage/copy/index.js";
import { openStore } from "../../../src/storage/index.js";
import { ApiError } from "../../../src/errors.js";
import { startTestServer, type TestServer } from "../../helpers/test-server.js";
import { FAST_FEDERATION } from "../../federation/support.js";
import { startPostgres } from "../../helpers/postgres-server.js";
import { registration } from "../../helpers/test-server.js";
import { PASSPHRASE, buildSourceNode, type SourceNode } from "./source-node.js";
import { expectSameNode } from "./target-checks.js";
import { addIdentityData, expectCopiedIdentity } from "../identity-copy-data.js";
import { addDataServicesData, expectCopiedPluginInstalls } from "../data-copy-data.js";

let peer: TestServer;
let source: SourceNode;
const pg = await startPostgres();
const cleanup: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(dir);
  return dir;
}

/** The files a node's data directory keeps outside the database, carried by hand as the copy's notes say. */
function carryKeyFiles(to: string, { publicKey }: { publicKey: boolean }): void {
  copyFileSync(join(source.dataDir, "audit.key"), join(to, "audit.key"));
  if (publicKey) copyFileSync(join(source.dataDir, "node-key.pub.pem"), join(to, "node-key.pub.pem"));
}

function expectVerified(report: CopyReport): void {
  expect(report.rows.filter((row) => !row.ok), JSON.stringify(report.rows, null, 2)).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.did).toBe(source.did);
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => expect.fail("the copy should have been refused"),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

beforeAll(async () => {
  peer = await startTestServer({ config: { federation: FAST_FEDERATION } });
  const response = await peer.request("/api/services/register", { method: "POST", json: registration({ id: "peer-public", visibility: "public" }) });
  expect(response.status).toBe(201);
  source = await buildSourceNode(peer);
  cleanup.push(source.dataDir);
  // Sign-in's data through the store (the source node is stopped): users, sessions, factors, security log.
  await addIdentityData(source.dataDir);
  // Artifacts, prompts, memories and a push config on the task, likewise.
  await addDataServicesData(source.dataDir, source.task.id);
}, 120_000);

afterAll(async () => {
  await peer?.dispose();
  await pg?.stop();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

describe("copying into SQLite", () => {
  it("copies every kind, verifies it, and a node started on the copy is the same node with the same data", async () => {
    const targetDir = tempDir("kai-copy-target-");
    const progress: string[] = [];
    const report = await copyStorage({ from: source.dataDir, to: { kind: "sqlite", path: join(targetDir, "kai.db") }, onProgress: (line) => progress.push(line) });
    expectVerified(report);
    expect(report.overwritten).toEqual([]);
    expect(report.epoch.target).not.toBe(report.epoch.source);
    expect(report.notes.join("\n")).toContain("audit.key");
    expect(progress.some((line) => line.startsWith("services:"))).toBe(true);
    expect(report.rows.find((row) => row.kind === "users")).toMatchObject({ target: expect.not.stringMatching(/^0$/), ok: true });
    // The data services are verified kind by kind, each with its rows counted (the prompt's two versions under it).
    const kinds = report.rows.map((row) => row.kind);
    const at = kinds.indexOf("artifacts");
    expect(kinds.slice(at, at + 7)).toEqual(["artifacts", "prompts", "  versions", "memories", "A2A push configs", "plugin installs", "  package bytes"]);
    expect(report.rows.slice(at, at + 7).map((row) => [row.source, row.target, row.ok])).toEqual([
      ["1", "1", true],
      ["1", "1", true],
      ["2", "2", true],
      ["2", "2", true],
      ["1", "1", true],
      ["2", "2", true],
      ["200000", "200000", true],
    ]);
    expect(progress).toContain("plugin installs: 2 copied with their packages (200000 bytes)");
    await expectCopiedIdentity(source.dataDir, { kind: "sqlite", path: join(targetDir, "kai.db") });
    // The plugin installs every instance follows: each row as it was, revision and package bytes included.
    await expectCopiedPluginInstalls(source.dataDir, { kind: "sqlite", path: join(targetDir, "kai.db") });

    // A SQLite node reads its public key from the data directory; everything else comes from the database.
    carryKeyFiles(targetDir, { publicKey: true });
    const target = await startTestServer({ keepDataDir: targetDir, env: { KAI_VAULT_PASSPHRASE: PASSPHRASE }, config: { federation: FAST_FEDERATION } });
    try {
      await expectSameNode(target, source);
    } finally {
      await target.dispose();
    }

    // Not empty any more: refused without --force, emptied and copied again with it.
    const again = await refusal(copyStorage({ from: source.dataDir, to: { kind: "sqlite", path: join(targetDir, "kai.db") } }));
    expect(again.code).toBe("conflict");
    expect(again.message).toMatch(/not empty .*services.*--force/);
    const forced = await copyStorage({ from: source.dataDir, to: { kind: "sqlite", path: join(targetDir, "kai.db") }, force: true });
    expectVerified(forced);
    expect(forced.overwritten.join(", ")).toMatch(/services.*tokens.*vault header.*tasks.*1 artifacts.*1 prompts.*2 memories.*1 push configs.*2 plugin installs.*users.*sessions/);
    await expectCopiedPluginInstalls(source.dataDir, { kind: "sqlite", path: join(targetDir, "kai.db") });
  }, 60_000);
});

describe.skipIf(!pg)("copying into PostgreSQL", () => {
  it("copies every kind, verifies it, and an instance started on the database is the same node with the same data", async () => {
    const url = await pg!.createDatabase("copy");
    const report = await copyStorage({ from: source.dataDir, to: postgresTarget(url) });
    expectVerified(report);
    expect(report.to).toBe(url);
    expect(report.rows.find((row) => row.kind === "plugin installs")).toEqual({ kind: "plugin installs", source: "2", target: "2", ok: true });
    await expectCopiedIdentity(source.dataDir, postgresTarget(url));
    await expectCopiedPluginInstalls(source.dataDir, postgresTarget(url));

    // The copy recorded the source's audit key: an instance started first but without it (a new key made at
    // start) keeps the vault locked, rather than claiming its own key and leaving the copied chain unverifiable.
    // (With the source's admin.token: a node whose vault stays locked cannot mint one at start.)
    const forgetfulDir = tempDir("kai-copy-instance-");
    copyFileSync(join(source.dataDir, "admin.token"), join(forgetfulDir, "admin.token"));
    const forgetful = await startTestServer({
      keepDataDir: forgetfulDir,
      env: { KAI_VAULT_PASSPHRASE: PASSPHRASE },
      config: { storage: { kind: "postgres", postgres: { url } } },
    });
    try {
      expect(((await (await forgetful.request("/api/vault/status", { token: source.adminToken })).json()) as { locked: boolean }).locked).toBe(true);
      expect(forgetful.logs.some((line) => line.includes("audit.key is not the one"))).toBe(true);
    } finally {
      await forgetful.dispose();
    }

    // An instance of the cluster: a data directory of its own with the audit key only; its identity is the database's.
    const instanceDir = tempDir("kai-copy-instance-");
    carryKeyFiles(instanceDir, { publicKey: false });
    const target = await startTestServer({
      keepDataDir: instanceDir,
      env: { KAI_VAULT_PASSPHRASE: PASSPHRASE },
      config: { federation: FAST_FEDERATION, storage: { kind: "postgres", postgres: { url } } },
    });
    try {
      await expectSameNode(target, source);
    } finally {
      await target.dispose();
    }

    const again = await refusal(copyStorage({ from: source.dataDir, to: postgresTarget(url) }));
    expect(again.code).toBe("conflict");
    const forced = await copyStorage({ from: source.dataDir, to: postgresTarget(url), force: true });
    expectVerified(forced);
    expect(forced.overwritten.join(", ")).toMatch(/services.*tokens.*vault header.*2 plugin installs.*users.*sessions/);
    await expectCopiedPluginInstalls(source.dataDir, postgresTarget(url));
  }, 90_000);
});

describe("refusals", () => {
  it("refuses a source that does not exist or holds no database", async () => {
    expect((await refusal(copyStorage({ from: join(tmpdir(), "kai-no-such-dir-for-copy"), to: { kind: "memory" } }))).code).toBe("not_found");
    const empty = tempDir("kai-copy-empty-");
    const error = await refusal(copyStorage({ from: empty, to: { kind: "memory" } }));
    expect(error.code).toBe("not_found");
    expect(error.message).toContain("kai.db");
  });

  it("refuses a source a server has open", async () => {
    const open = await openStore({ kind: "sqlite", path: join(source.dataDir, "kai.db") });
    try {
      const error = await refusal(copyStorage({ from: source.dataDir, to: { kind: "memory" } }));
      expect(error.code).toBe("conflict");
      expect(error.message).toContain("in use");
    } finally {
      await open.close();
    }
  });

  it("refuses a node whose private key is still a plain file, and never writes it anywhere", async () => {
    const dir = tempDir("kai-copy-plain-key-");
    copyFileSync(join(source.dataDir, "kai.db"), join(dir, "kai.db"));
    copyFileSync(join(source.dataDir, "node-key.pub.pem"), join(dir, "node-key.pub.pem"));
    writeFileSync(join(dir, "node-key.pem"), "-----BEGIN PRIVATE KEY-----\n(not read)\n-----END PRIVATE KEY-----\n", { mode: 0o600 });
    const targetDir = tempDir("kai-copy-target-");
    const error = await refusal(copyStorage({ from: dir, to: { kind: "sqlite", path: join(targetDir, "kai.db") } }));
    expect(error.code).toBe("conflict");
    expect(error.message).toMatch(/node-key\.pem.*vault/);
    // Refused before the target was touched.
    expect(existsSync(join(targetDir, "kai.db"))).toBe(false);
  });
});
