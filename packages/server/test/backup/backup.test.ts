// Backups (issue 19) end to end on real parts: a running SQLite node with something of every kind (services, tokens,
// a user, a vault secret, a federation peer with an imported record, a task, a prompt, an artifact) takes a backup
// over the API while it keeps serving writes; the backup lists and verifies; it restores into an empty SQLite data
// directory (a node started there is the same node: the vault stays sealed until its passphrase is given, then the
// secret reads back) and into a real PostgreSQL, each compared kind by kind with the backup's snapshot and manifest.
// A node on PostgreSQL backs up too, and its backup restores onto SQLite. Refusals: a wrong passphrase, a changed or
// cut-short file, a target that is not empty; scheduled backups keep `retain`. One source node and one peer for the
// whole file. A plugin installed over the API (its row in the shared plugin install store, with the packed folder)
// comes back byte for byte from every restore, and a node started on the restored SQLite installs it from that row.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { MAX_BACKUP_KDF_ITERATIONS, type BackupCounts, type BackupVerification, type CreateBackupResponse } from "@kai/protocol";
import { MAGIC, writeBackup } from "../../src/backup/backup-envelope.js";
import { BackupService, LEFTOVER_AGE_MS } from "../../src/backup/backup-service.js";
import { backupScheduleJob } from "../../src/backup/backup-schedule.js";
import { NEWEST_BACKUP_REREAD_MS, registerBackupMetrics } from "../../src/backup/backup-metrics.js";
import { Registry } from "prom-client";
import { restoreBackup, verifyBackup } from "../../src/backup/index.js";
import { countsOf } from "../../src/backup/backup-snapshot.js";
import { ConfigSchema } from "../../src/config/config-schema.js";
import { ApiError } from "../../src/errors.js";
import { postgresTarget } from "../../src/storage/copy/index.js";
import { takeInventory } from "../../src/storage/copy/inventory.js";
import { openStore, type OpenStoreOptions } from "../../src/storage/index.js";
import { openBlobBackend } from "../../src/artifacts/open-artifacts.js";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { startPostgres } from "../helpers/postgres-server.js";
import { FAST_FEDERATION, addPeer, eventually, listRemote } from "../federation/support.js";
import { makePlugin } from "../plugins/plugin-fixtures.js";
import { packFolder } from "../plugins/plugin-package-fixtures.js";
import type { StoredPluginInstall } from "../../src/storage/contracts/plugin-install-store.js";
import { sampleOf } from "../helpers/exposition.js";

const VAULT_PASSPHRASE = "vault passphrase of the backed-up node";
const BACKUP_PASSPHRASE = "backup passphrase, not the vault's";
const SECRET = "sk-backed-up-secret";
const ARTIFACT = "the bytes of an artifact, backed up";

let peer: TestServer;
let node: TestServer;
let created: CreateBackupResponse;
let backupFile: string;
let readerToken: string;
let artifactId: string;
/** The plugin install row as the SQLite restore brought it back (the PostgreSQL restore must bring the same). */
let restoredOnSqlite: StoredPluginInstall | undefined;
const pg = await startPostgres();
const cleanup: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(dir);
  return dir;
}

async function ok(response: Response, status = 200): Promise<unknown> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return text === "" ? null : (JSON.parse(text) as unknown);
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => expect.fail("should have been refused"), (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

/** The random (incompressible) file each installed plugin carries, by plugin id. */
const payloads = new Map<string, Buffer>();

/** Installs an unsigned plugin `id` over the API (the node records its packed folder in the plugin install store). */
async function installPlugin(server: TestServer, id: string): Promise<void> {
  payloads.set(id, randomBytes(4096));
  const folder = makePlugin(tempDir("kai-backup-plugin-"), id, { id, name: id, entrypoint: "main.mjs", version: "1.0.0", capabilities: [{ name: `${id.replace(/-/g, "_")}_text` }] }, {
    "main.mjs": "export default { capabilities: {} };\n",
    "payload.bin": payloads.get(id)!,
  });
  const installed = await server.request("/api/plugins/install", { method: "POST", body: await packFolder(folder), headers: { "content-type": "application/gzip" } });
  expect(installed.status, await installed.clone().text()).toBe(201);
}

/** The plugin install row of `id` in a store (package included). */
async function installIn(target: OpenStoreOptions, id: string): Promise<StoredPluginInstall | null> {
  const store = await openStore(target);
  try {
    return await store.pluginInstallStore().getInstall(id);
  } finally {
    await store.close();
  }
}

/** A restored row is the recorded one: its package hashes to the SHA-256 the installing node recorded, byte for byte. */
function expectIntact(row: StoredPluginInstall | null, id: string): StoredPluginInstall {
  expect(row).toMatchObject({ id, action: "install", version: "1.0.0", revision: 1, trust: "unverified" });
  expect(row!.package!.length).toBeGreaterThan(4096);
  expect(createHash("sha256").update(row!.package!).digest("hex")).toBe(row!.sha256);
  return row!;
}

/** What a restored store holds, counted as a manifest counts (`blobs`: the blobs the restore wrote). */
async function countsIn(target: OpenStoreOptions, blobs: number): Promise<BackupCounts> {
  const store = await openStore(target);
  try {
    return countsOf(await takeInventory(store, []), blobs);
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  peer = await startTestServer({ config: { federation: FAST_FEDERATION } });
  await ok(await peer.request("/api/services/register", { method: "POST", json: registration({ id: "peer-public", visibility: "public" }) }), 201);
  node = await startTestServer({
    env: { KAI_VAULT_PASSPHRASE: VAULT_PASSPHRASE },
    config: { federation: FAST_FEDERATION, vault: { pbkdf2Iterations: 10_000 }, backup: { kdfIterations: 10_000, passphraseSecret: "backup/passphrase" } },
  });
  const post = (path: string, json: unknown, status = 201) => node.request(path, { method: "POST", json }).then((r) => ok(r, status));
  await post("/api/services/register", registration({ id: "svc-one", visibility: "public", tags: ["eu"] }));
  await post("/api/services/register", registration({ id: "svc-two", ttl: 300 }));
  readerToken = await mintToken(node, ["services:read"], "reader");
  await post("/api/users", { username: "backed-up-user", password: "a long enough password 1", roles: ["viewer"] });
  await ok(await node.request("/api/vault/secrets/openai/api-key", { method: "PUT", json: { value: SECRET } }));
  const task = (await post("/api/agent/task", { goal: "backed-up task", capability: "nobody_offers_this" }, 202)) as { task: { id: string } };
  await eventually(async () => ((await ok(await node.request(`/api/agent/task/${task.task.id}`))) as { task: { state: string } }).task.state, (state) => state === "failed");
  await ok(await node.request("/api/prompts/greeting", { method: "PUT", json: { template: "hello {{name}}", variables: [{ name: "name" }] } }), 201);
  const artifact = (await ok(await node.request("/api/artifacts?name=a.txt", { method: "POST", body: ARTIFACT, headers: { "content-type": "text/plain" } }), 201)) as { artifact: { id: string } };
  artifactId = artifact.artifact.id;
  await installPlugin(node, "backed-up-plugin");
  await ok(await addPeer(node, peer), 201);
  await eventually(() => listRemote(node), (records) => records.length >= 1);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([node?.dispose(), peer?.dispose()]);
  await pg?.stop();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

describe("taking a backup while the node serves", () => {
  it("backs up every kind (artifact bytes included), lists and verifies it; writes go on meanwhile", async () => {
    const writes = Array.from({ length: 5 }, (_, i) => node.request("/api/services/register", { method: "POST", json: registration({ id: `during-${i}` }) }));
    const response = node.request("/api/backups", { method: "POST", json: { passphrase: BACKUP_PASSPHRASE, withArtifacts: true } });
    for (const write of await Promise.all(writes)) expect(write.status).toBe(201);
    created = (await ok(await response, 201)) as CreateBackupResponse;
    backupFile = join(node.dataDir, "backups", `${created.id}.kaibak`);
    expect(created.counts).toMatchObject({ peers: 1, tasks: 1, prompts: 1, artifacts: 1, blobs: 1, pluginInstalls: 1 });
    expect(created.counts.services).toBeGreaterThanOrEqual(2);
    // The secret set through the API and the node's own (its key, sealed).
    expect(created.counts.secrets).toBeGreaterThanOrEqual(2);
    expect(created.counts.tokens).toBeGreaterThanOrEqual(2);
    expect(created.counts.imports).toBeGreaterThanOrEqual(1);
    expect(created.counts.users).toBeGreaterThanOrEqual(1);
    expect(created.counts.auditEntries).toBeGreaterThan(0);
    // Encrypted as a whole: neither the secret's name nor the artifact's bytes appear in the file.
    const bytes = readFileSync(backupFile);
    expect(bytes.includes(Buffer.from("openai/api-key"))).toBe(false);
    expect(bytes.includes(Buffer.from(ARTIFACT))).toBe(false);

    const listed = (await ok(await node.request("/api/backups"))) as { backups: Array<{ id: string; bytes: number }> };
    expect(listed.backups.map((backup) => backup.id)).toContain(created.id);
    // What Prometheus reads for the "backup too old" alert: the newest backup's time, from the file.
    const metrics = await (await node.request("/metrics")).text();
    expect(sampleOf(metrics, "kai_backup_newest_timestamp_seconds")).toBe(Date.parse(created.createdAt) / 1000);
    expect(sampleOf(metrics, "kai_backup_failures_total")).toBe(0);
    expect(listed.backups.find((backup) => backup.id === created.id)?.bytes).toBe(bytes.length);

    // Downloaded as it is: the file's bytes, named, never cached; an unknown id is 404, a malformed one 400.
    const download = await node.request(`/api/backups/${created.id}/download`);
    expect(download.status).toBe(200);
    expect(download.headers.get("content-type")).toBe("application/octet-stream");
    expect(download.headers.get("content-disposition")).toBe(`attachment; filename="${created.id}.kaibak"`);
    expect(download.headers.get("cache-control")).toBe("no-store");
    expect(Number(download.headers.get("content-length"))).toBe(bytes.length);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await node.request("/api/backups/kai-backup-20200101T000000Z-aaaaaa/download")).status).toBe(404);
    expect((await node.request("/api/backups/..%2F..%2Fkai.db/download")).status).toBe(400);

    const verified = (await ok(await node.request(`/api/backups/${created.id}/verify`, { method: "POST", json: { passphrase: BACKUP_PASSPHRASE } }))) as BackupVerification;
    expect(verified.rows.filter((row) => !row.ok)).toEqual([]);
    expect(verified.ok).toBe(true);
    expect(verified.rows.some((row) => row.kind === "manifest: blobs" && row.restored === "1")).toBe(true);
    expect(verified.rows.find((row) => row.kind === "plugin installs")).toEqual({ kind: "plugin installs", expected: "1", restored: "1", ok: true });
    expect(verified.rows.some((row) => row.kind === "manifest: pluginInstalls" && row.restored === "1" && row.ok)).toBe(true);

    const wrong = await node.request(`/api/backups/${created.id}/verify`, { method: "POST", json: { passphrase: "not the passphrase at all" } });
    expect(wrong.status).toBe(422);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe("backup_passphrase_wrong");
    // Without a passphrase in the call: the vault secret backup.passphraseSecret names (missing at first: 404, naming
    // the setting, not the vault's bare "secret not found", nor the secret's path, which a scheduled run would log).
    const noSecret = await node.request("/api/backups", { method: "POST", json: {} });
    expect(noSecret.status).toBe(404);
    const noSecretMessage = ((await noSecret.json()) as { error: { message: string } }).error.message;
    expect(noSecretMessage).toBe(
      "the vault secret backup.passphraseSecret names is missing: the vault does not hold it. Set it (kai vault set, under the name that setting gives), or give a passphrase",
    );
    expect(noSecretMessage).not.toContain("backup/passphrase");
    await ok(await node.request("/api/vault/secrets/backup/passphrase", { method: "PUT", json: { value: "from the vault, 8+" } }));
    const fromVault = (await ok(await node.request("/api/backups", { method: "POST", json: {} }), 201)) as CreateBackupResponse;
    expect(((await ok(await node.request(`/api/backups/${fromVault.id}/verify`, { method: "POST", json: {} }))) as BackupVerification).ok).toBe(true);
    expect((await node.request(`/api/backups/${fromVault.id}/verify`, { method: "POST", json: { passphrase: BACKUP_PASSPHRASE } })).status).toBe(422);
    // The vault locked: 503 naming the setting, again not the secret's path.
    await ok(await node.request("/api/vault/lock", { method: "POST", json: {} }));
    try {
      const locked = await node.request("/api/backups", { method: "POST", json: {} });
      expect(locked.status).toBe(503);
      expect(((await locked.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: "vault_locked",
        message: "the vault secret backup.passphraseSecret names cannot be read: the vault is locked. Unlock it (kai vault unlock), or give a passphrase",
      });
    } finally {
      await ok(await node.request("/api/vault/unlock", { method: "POST", json: { passphrase: VAULT_PASSPHRASE } }));
    }
    // The scope: backup:admin (admin implies it), nothing else.
    const other = await mintToken(node, ["vault:admin", "config:admin", "plugins:admin"]);
    expect((await node.request("/api/backups", { token: other })).status).toBe(403);
    expect((await node.request("/api/backups", { token: await mintToken(node, ["backup:admin"]) })).status).toBe(200);
    expect((await node.request(`/api/backups/${created.id}/download`, { token: other })).status).toBe(403);

    // Deleted: its file is gone and it is no longer listed; the others stay. Again: 404; a path-shaped id: 400.
    const fromVaultFile = join(node.dataDir, "backups", `${fromVault.id}.kaibak`);
    expect((await node.request(`/api/backups/${fromVault.id}`, { method: "DELETE", token: other })).status).toBe(403);
    expect(existsSync(fromVaultFile)).toBe(true);
    expect((await node.request(`/api/backups/${fromVault.id}`, { method: "DELETE" })).status).toBe(204);
    expect(existsSync(fromVaultFile)).toBe(false);
    const afterDelete = (await ok(await node.request("/api/backups"))) as { backups: Array<{ id: string }> };
    expect(afterDelete.backups.map((backup) => backup.id)).toContain(created.id);
    expect(afterDelete.backups.map((backup) => backup.id)).not.toContain(fromVault.id);
    expect(readFileSync(backupFile).equals(bytes)).toBe(true);
    expect((await node.request(`/api/backups/${fromVault.id}`, { method: "DELETE" })).status).toBe(404);
    expect((await node.request("/api/backups/..%2F..%2Fkai.db", { method: "DELETE" })).status).toBe(400);
    expect(existsSync(join(node.dataDir, "kai.db"))).toBe(true);
  }, 60_000);
});

describe("restoring", () => {
  it("onto an empty SQLite node: the same records, the vault sealed until its passphrase, then the secret reads back", async () => {
    const dataDir = tempDir("kai-restore-sqlite-");
    const report = await restoreBackup({ file: backupFile, passphrase: BACKUP_PASSPHRASE, dataDir });
    expect(report.copy.rows.filter((row) => !row.ok)).toEqual([]);
    expect(report.copy.did).toBe(created.did);
    expect(report.blobs).toBe(1);
    expect(await countsIn({ kind: "sqlite", path: join(dataDir, "kai.db") }, report.blobs)).toEqual(created.counts);
    const restoredRow = expectIntact(await installIn({ kind: "sqlite", path: join(dataDir, "kai.db") }, "backed-up-plugin"), "backed-up-plugin");
    restoredOnSqlite = restoredRow;

    // Refused the second time: the target is not empty.
    const again = await refusal(restoreBackup({ file: backupFile, passphrase: BACKUP_PASSPHRASE, dataDir }));
    expect(again.code).toBe("conflict");

    // A node on the restored directory, without the vault passphrase: sealed. The old admin token file comes along
    // (a node whose vault is locked cannot mint one at start); tokens were restored, so it is valid.
    copyFileSync(join(node.dataDir, "admin.token"), join(dataDir, "admin.token"));
    const restored = await startTestServer({ keepDataDir: dataDir, config: { federation: FAST_FEDERATION } });
    try {
      const admin = { token: node.adminToken };
      expect(((await ok(await restored.request("/api/vault/status", admin))) as { locked: boolean }).locked).toBe(true);
      await ok(await restored.request("/api/vault/unlock", { method: "POST", json: { passphrase: VAULT_PASSPHRASE }, ...admin }));
      expect(((await ok(await restored.request("/api/vault/secrets/openai/api-key", admin))) as { value: string }).value).toBe(SECRET);
      // The same node: its DID, a token minted before the backup, the prompt, the artifact's bytes.
      expect(((await ok(await restored.request("/api/services/svc-one", { token: readerToken }))) as { id: string }).id).toBe("svc-one");
      expect(((await ok(await restored.request("/api/prompts/greeting", admin))) as { prompt: { name: string } }).prompt.name).toBe("greeting");
      const content = await restored.request(`/api/artifacts/${artifactId}/content`, admin);
      expect(await content.text()).toBe(ARTIFACT);
      // The plugin: installed at start from the restored row (a fresh data folder holds no marker of it).
      const plugin = await eventually(async () => {
        const response = await restored.request("/api/plugins/backed-up-plugin", admin);
        return response.status === 200 ? ((await response.json()) as { version: string; source: string }) : undefined;
      }, (found) => found !== undefined);
      expect(plugin).toMatchObject({ version: "1.0.0", source: "data" });
      expect(readFileSync(join(dataDir, "plugins", "backed-up-plugin", "payload.bin"))).toEqual(payloads.get("backed-up-plugin"));
      expect(restoredRow.revision).toBe(1);
    } finally {
      await restored.dispose();
    }
  }, 60_000);

  it.skipIf(!pg)("onto an empty PostgreSQL database: every kind the same as in the backup", async () => {
    const url = await pg!.createDatabase("backup");
    const dataDir = tempDir("kai-restore-pg-");
    const report = await restoreBackup({ file: backupFile, passphrase: BACKUP_PASSPHRASE, dataDir, to: postgresTarget(url) });
    expect(report.copy.rows.filter((row) => !row.ok)).toEqual([]);
    expect(await countsIn(postgresTarget(url), report.blobs)).toEqual(created.counts);
    // The same row, byte for byte, as the SQLite restore of the same backup.
    const onPg = expectIntact(await installIn(postgresTarget(url), "backed-up-plugin"), "backed-up-plugin");
    expect({ ...onPg, package: null }).toEqual({ ...restoredOnSqlite!, package: null });
    expect(onPg.package!.equals(restoredOnSqlite!.package!)).toBe(true);
  }, 60_000);

  it("refuses a wrong passphrase, a changed file and a cut-short one with their own codes, and writes nothing", async () => {
    const dataDir = tempDir("kai-restore-refused-");
    expect((await refusal(restoreBackup({ file: backupFile, passphrase: "wrong passphrase!", dataDir }))).code).toBe("backup_passphrase_wrong");
    const bytes = readFileSync(backupFile);
    const changed = Buffer.from(bytes);
    changed[Math.floor(changed.length / 2)]! ^= 0x01;
    const changedFile = join(dataDir, "changed.kaibak");
    writeFileSync(changedFile, changed);
    expect((await refusal(verifyBackup(changedFile, BACKUP_PASSPHRASE))).code).toBe("backup_corrupt");
    // The header is authenticated too: the same length, one letter of the DID changed.
    const headerChanged = Buffer.from(bytes);
    const at = headerChanged.indexOf(Buffer.from(created.did)) + created.did.length - 1;
    headerChanged[at] = headerChanged[at] === 0x41 ? 0x42 : 0x41;
    writeFileSync(changedFile, headerChanged);
    expect((await refusal(restoreBackup({ file: changedFile, passphrase: BACKUP_PASSPHRASE, dataDir }))).code).toBe("backup_corrupt");
    writeFileSync(changedFile, bytes.subarray(0, bytes.length - 100));
    expect((await refusal(restoreBackup({ file: changedFile, passphrase: BACKUP_PASSPHRASE, dataDir }))).code).toBe("backup_corrupt");
    writeFileSync(changedFile, "not a backup");
    expect((await refusal(verifyBackup(changedFile, BACKUP_PASSPHRASE))).code).toBe("backup_corrupt");
    expect(readFileSync(join(dataDir, "changed.kaibak")).length).toBe(12);
    expect(() => readFileSync(join(dataDir, "kai.db"))).toThrow();
  }, 60_000);
});

describe.skipIf(!pg)("a node on PostgreSQL", () => {
  it("backs up while serving and restores onto SQLite: the same records, the secret after unlocking", async () => {
    const url = await pg!.createDatabase("backup-source");
    const pgNode = await startTestServer({
      env: { KAI_VAULT_PASSPHRASE: VAULT_PASSPHRASE },
      config: { storage: { kind: "postgres", postgres: { url } }, vault: { pbkdf2Iterations: 10_000 }, backup: { kdfIterations: 10_000 } },
    });
    const dataDir = tempDir("kai-restore-from-pg-");
    try {
      await ok(await pgNode.request("/api/services/register", { method: "POST", json: registration({ id: "on-pg", visibility: "public" }) }), 201);
      await ok(await pgNode.request("/api/vault/secrets/pg/secret", { method: "PUT", json: { value: SECRET } }));
      await ok(await pgNode.request("/api/prompts/on-pg", { method: "PUT", json: { template: "hi" } }), 201);
      await installPlugin(pgNode, "plugin-on-pg");
      await ok(await pgNode.request("/api/artifacts?name=on-pg.txt", { method: "POST", body: ARTIFACT, headers: { "content-type": "text/plain" } }), 201);
      const taken = (await ok(await pgNode.request("/api/backups", { method: "POST", json: { passphrase: BACKUP_PASSPHRASE } }), 201)) as CreateBackupResponse;
      expect(taken.sourceBackend).toBe("postgres");
      expect(taken.counts).toMatchObject({ services: 1, prompts: 1, pluginInstalls: 1 });
      const file = join(pgNode.dataDir, "backups", `${taken.id}.kaibak`);
      const report = await restoreBackup({ file, passphrase: BACKUP_PASSPHRASE, dataDir });
      expect(report.copy.rows.filter((row) => !row.ok)).toEqual([]);
      expect(await countsIn({ kind: "sqlite", path: join(dataDir, "kai.db") }, report.blobs)).toEqual(taken.counts);
      // The artifact's metadata without its bytes: the note says where the restored node looks for them.
      expect(taken.counts.artifacts).toBe(1);
      expect(report.notes.filter((note) => note.includes("artifact"))).toEqual([
        `the backup holds the metadata of 1 artifact, not their bytes: until the old blob store's files are in ${join(dataDir, "artifacts")} (the default artifacts.path) ` +
          "(copy the old node's artifacts folder there, or point artifacts.path or artifacts.store s3 at the old store), their downloads fail",
      ]);
      // PostgreSQL → the backup's SQLite → the restored SQLite: the row as the node's database holds it, byte for byte.
      const original = expectIntact(await installIn(postgresTarget(url), "plugin-on-pg"), "plugin-on-pg");
      const restoredRow = await installIn({ kind: "sqlite", path: join(dataDir, "kai.db") }, "plugin-on-pg");
      expect({ ...restoredRow, package: null }).toEqual({ ...original, package: null });
      expect(restoredRow!.package!.equals(original.package!)).toBe(true);
      copyFileSync(join(pgNode.dataDir, "admin.token"), join(dataDir, "admin.token"));
    } finally {
      await pgNode.dispose();
    }
    const restored = await startTestServer({ keepDataDir: dataDir, env: { KAI_VAULT_PASSPHRASE: VAULT_PASSPHRASE } });
    try {
      expect(((await ok(await restored.request("/api/vault/secrets/pg/secret"))) as { value: string }).value).toBe(SECRET);
      expect((await restored.request("/api/services/on-pg")).status).toBe(200);
    } finally {
      await restored.dispose();
    }
  }, 90_000);
});

describe("scheduled backups", () => {
  it("keep the newest `retain` scheduled backups, never one asked for (nor one too old to say); a schedule needs a passphrase", async () => {
    const dir = tempDir("kai-backup-schedule-");
    const service = new BackupService({
      dataDir: node.dataDir, keyDir: node.dataDir, dir, storage: "sqlite", blobs: () => openBlobBackend(node.config),
      passphrase: BACKUP_PASSPHRASE, kdfIterations: 10_000, logger: node.logger,
    });
    // Asked for (a "before the upgrade" backup), and one written before backups said whether they were scheduled.
    const asked = await service.create();
    expect(asked.scheduled).toBe(false);
    const older = "kai-backup-20200101T000000Z-older0";
    await writeBackup(join(dir, `${older}.kaibak`), { id: older, createdAt: "2020-01-01T00:00:00.000Z", did: created.did, sourceBackend: "sqlite", withArtifacts: false }, BACKUP_PASSPHRASE, 10_000, Readable.from([Buffer.from("an archive")]));
    const job = backupScheduleJob({ service, intervalSeconds: 3600, retain: 2, withArtifacts: false, logger: node.logger });
    const said = node.logs.length;
    for (let run = 0; run < 3; run++) await job.runOnce();
    const kept = await service.listLocal();
    expect(kept.filter((backup) => backup.scheduled === true)).toHaveLength(2);
    expect(kept.map((backup) => backup.id)).toContain(asked.id);
    expect(kept.find((backup) => backup.id === older)?.scheduled).toBeUndefined();
    expect(kept).toHaveLength(4);
    expect(kept.every((backup) => !backup.withArtifacts)).toBe(true);
    // The runs say what they pruned, truly: none, none, then the one scheduled backup beyond `retain`.
    const runs = node.logs.slice(said).filter((line) => line.includes("scheduled backup taken")).map((line) => (JSON.parse(line) as { pruned: number }).pruned);
    expect(runs).toEqual([0, 0, 1]);
    expect(ConfigSchema.safeParse({ backup: { schedule: "6h" } }).success).toBe(false);
    expect(ConfigSchema.safeParse({ backup: { schedule: "6h", passphraseSecret: "backup/passphrase" } }).success).toBe(true);
    expect(ConfigSchema.parse({ backup: { schedule: "6h", passphrase: "long enough" } }).backup.schedule).toBe(21_600);
  }, 60_000);

  it("a backup directory that cannot be made is backup_failed (507) naming backup.dir and why, over the API and in a scheduled run's log", async () => {
    const notADirectory = join(tempDir("kai-backup-unusable-"), "a-file");
    writeFileSync(notADirectory, "not a directory");
    const dir = join(notADirectory, "backups");
    const unusable = await startTestServer({ config: { backup: { dir, passphrase: BACKUP_PASSPHRASE, kdfIterations: 10_000, schedule: "6h" } } });
    try {
      const response = await unusable.request("/api/backups", { method: "POST", json: {} });
      expect(response.status).toBe(507);
      const { error } = (await response.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe("backup_failed");
      expect(error.message).toBe(`the backup could not be written to the backup directory (backup.dir) ${dir}: it cannot be created or written (ENOTDIR); nothing was kept`);
      // Counted for the "backup failed" alert; a request refused before anything began is not (its caller's error).
      expect((await unusable.request("/api/backups", { method: "POST", json: { passphrase: "short" } })).status).toBe(400);
      const metrics = await (await unusable.request("/metrics")).text();
      expect(sampleOf(metrics, "kai_backup_failures_total")).toBe(1);
      expect(sampleOf(metrics, "kai_backup_newest_timestamp_seconds")).toBe(0);
      expect(sampleOf(metrics, "kai_backup_schedule_interval_seconds")).toBe(21_600);
    } finally {
      await unusable.dispose();
    }
    const service = new BackupService({
      dataDir: node.dataDir, keyDir: node.dataDir, dir, storage: "sqlite", blobs: () => openBlobBackend(node.config),
      passphrase: BACKUP_PASSPHRASE, kdfIterations: 10_000, logger: node.logger,
    });
    await backupScheduleJob({ service, intervalSeconds: 3600, retain: 2, withArtifacts: false, logger: node.logger }).runOnce();
    const failed = node.logs.filter((line) => line.includes("the scheduled backup failed"));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain("backup_failed");
    expect(failed[0]).toContain("ENOTDIR");
  }, 60_000);

  it("give the newest backup's time to the metrics: again at once after this instance's change, within a minute after another's", async () => {
    const dir = tempDir("kai-backup-metrics-");
    const serviceOn = () => new BackupService({
      dataDir: node.dataDir, keyDir: node.dataDir, dir, storage: "sqlite", blobs: () => openBlobBackend(node.config),
      passphrase: BACKUP_PASSPHRASE, kdfIterations: 10_000, logger: node.logger,
    });
    const [here, elsewhere] = [serviceOn(), serviceOn()];
    const registry = new Registry();
    let clock = 1_000_000;
    registerBackupMetrics(registry, here, 3600, () => clock);
    const newest = async () => sampleOf(await registry.metrics(), "kai_backup_newest_timestamp_seconds");
    const at = (backup: { createdAt: string }) => Date.parse(backup.createdAt) / 1000;
    expect(await newest()).toBe(0);
    const mine = await here.create();
    expect(await newest()).toBe(at(mine));
    // Another instance writing into the same directory: seen once the figure is a minute old, not at every scrape.
    const theirs = await elsewhere.create();
    expect(await newest()).toBe(at(mine));
    clock += NEWEST_BACKUP_REREAD_MS;
    expect(await newest()).toBe(at(theirs));
    await here.delete(theirs.id, "test");
    expect(await newest()).toBe(at(mine));
    expect(sampleOf(await registry.metrics(), "kai_backup_schedule_interval_seconds")).toBe(3600);
  }, 60_000);

  it("list, verify and prune a backup only under its own name: a copy renamed by hand is left out, said once, never pruned for it", async () => {
    const dir = tempDir("kai-backup-renamed-");
    const service = new BackupService({
      dataDir: node.dataDir, keyDir: node.dataDir, dir, storage: "sqlite", blobs: () => openBlobBackend(node.config),
      passphrase: BACKUP_PASSPHRASE, kdfIterations: 10_000, logger: node.logger,
    });
    const older = await service.create({ scheduled: true });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const newer = await service.create({ scheduled: true });
    // The newest backup copied under an older-looking name (an operator's "keep this one" copy).
    const copy = "kai-backup-20000101T000000Z-copyaa";
    copyFileSync(join(dir, `${newer.id}.kaibak`), join(dir, `${copy}.kaibak`));
    const said = () => node.logs.filter((line) => line.includes(copy) && line.includes("holds another backup than its name says")).length;
    const before = said();
    for (let listing = 0; listing < 3; listing++) expect((await service.listLocal()).map((backup) => backup.id)).toEqual([newer.id, older.id]);
    expect(said() - before).toBe(1);
    // Asked for by the copy's name: refused, naming what it holds; the real one verifies.
    const refused = await refusal(service.verify(copy));
    expect(refused.code).toBe("backup_corrupt");
    expect(refused.message).toContain(`holds the backup ${newer.id}, not ${copy}`);
    expect((await refusal(service.fileFor(copy))).code).toBe("backup_corrupt");
    expect((await service.verify(newer.id)).ok).toBe(true);
    // Retention keeps the newest real backup and deletes only the older one: the copy is not its to touch.
    expect(await service.prune(1)).toEqual([older.id]);
    expect(readdirSync(dir).filter((name) => name.endsWith(".kaibak")).sort()).toEqual([`${copy}.kaibak`, `${newer.id}.kaibak`].sort());
    // Deleting by the copy's name removes that file (the way to clear it through the API).
    await service.delete(copy, "test");
    expect(existsSync(join(dir, `${copy}.kaibak`))).toBe(false);
    expect(existsSync(join(dir, `${newer.id}.kaibak`))).toBe(true);
  }, 60_000);

  it("refuse a header asking for more PBKDF2 iterations than any backup has, before deriving a key, and never write one", async () => {
    const dir = tempDir("kai-backup-iterations-");
    const header = {
      format: 1, id: "kai-backup-20200101T000000Z-kdfkdf", createdAt: "2020-01-01T00:00:00.000Z", did: "did:example", sourceBackend: "sqlite",
      withArtifacts: false, cipher: "aes-256-gcm", kdf: { name: "pbkdf2-sha256", iterations: 100_000_000, hash: "sha256", salt: "A".repeat(22) },
      check: "A".repeat(43), nonce: "A".repeat(16),
    };
    const body = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    const file = join(dir, `${header.id}.kaibak`);
    writeFileSync(file, Buffer.concat([MAGIC, length, body, Buffer.alloc(64)]));
    const started = Date.now();
    expect((await refusal(verifyBackup(file, BACKUP_PASSPHRASE))).code).toBe("backup_corrupt");
    expect(Date.now() - started).toBeLessThan(5_000);
    const refused = await refusal(writeBackup(join(dir, "x.kaibak"), { id: header.id, createdAt: header.createdAt, did: "did:example", sourceBackend: "sqlite", withArtifacts: false }, BACKUP_PASSPHRASE, MAX_BACKUP_KDF_ITERATIONS + 1, Readable.from([Buffer.from("x")])));
    expect(refused.code).toBe("validation_failed");
    expect(existsSync(join(dir, "x.kaibak.partial"))).toBe(false);
    // A node set above the cap is refused when its configuration loads, not at its first backup.
    expect(ConfigSchema.parse({ backup: { kdfIterations: MAX_BACKUP_KDF_ITERATIONS } }).backup.kdfIterations).toBe(MAX_BACKUP_KDF_ITERATIONS);
    const tooMany = ConfigSchema.safeParse({ backup: { kdfIterations: MAX_BACKUP_KDF_ITERATIONS + 1 } });
    expect(tooMany.success).toBe(false);
    expect(tooMany.error?.issues.map((issue) => issue.path.join("."))).toEqual(["backup.kdfIterations"]);
  });

  it("leave a damaged file in the directory out of the listing, and say so once, not at every listing (each scrape lists)", async () => {
    const dir = tempDir("kai-backup-damaged-");
    const service = new BackupService({
      dataDir: node.dataDir, keyDir: node.dataDir, dir, storage: "sqlite", blobs: () => openBlobBackend(node.config),
      passphrase: BACKUP_PASSPHRASE, kdfIterations: 10_000, logger: node.logger,
    });
    writeFileSync(join(dir, "kai-backup-20200101T000000Z-dddddd.kaibak"), "not a backup");
    const said = () => node.logs.filter((line) => line.includes("kai-backup-20200101T000000Z-dddddd") && line.includes("not a readable backup")).length;
    const before = said();
    for (let listing = 0; listing < 3; listing++) expect(await service.listLocal()).toEqual([]);
    expect(said() - before).toBe(1);
  });

  it("sweep what interrupted backups left behind once it is a day old, never a backup or a fresh leftover", async () => {
    const dir = tempDir("kai-backup-leftovers-");
    const service = new BackupService({
      dataDir: node.dataDir, keyDir: node.dataDir, dir, storage: "sqlite", blobs: () => openBlobBackend(node.config),
      passphrase: BACKUP_PASSPHRASE, kdfIterations: 10_000, logger: node.logger,
    });
    const taken = await service.create();
    const old = new Date(Date.now() - LEFTOVER_AGE_MS - 60_000);
    mkdirSync(join(dir, ".kai-backup-take-old1"));
    writeFileSync(join(dir, ".kai-backup-take-old1", "kai.db"), "half a snapshot");
    writeFileSync(join(dir, "kai-backup-20261201T000000Z-abcdef.kaibak.partial"), "half a file");
    for (const name of [".kai-backup-take-old1", "kai-backup-20261201T000000Z-abcdef.kaibak.partial"]) utimesSync(join(dir, name), old, old);
    mkdirSync(join(dir, ".kai-backup-open-fresh"));
    writeFileSync(join(dir, "notes.txt"), "the operator's");
    utimesSync(join(dir, "notes.txt"), old, old);
    expect((await service.sweepLeftovers()).sort()).toEqual([".kai-backup-take-old1", "kai-backup-20261201T000000Z-abcdef.kaibak.partial"]);
    expect(readdirSync(dir).sort()).toEqual([".kai-backup-open-fresh", `${taken.id}.kaibak`, "notes.txt"]);
    expect((await service.listLocal()).map((backup) => backup.id)).toEqual([taken.id]);
  }, 60_000);
});
