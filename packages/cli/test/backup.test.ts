/**
 * `kai backup` end to end: the built CLI asks a real node (SQLite) to take a backup while it serves, lists it and
 * has the node verify it (the passphrase from the node's `backup.passphrase`); downloads it; then, with no node,
 * verifies the downloaded file itself and restores it into an empty data directory (the passphrase from
 * KAI_BACKUP_PASSPHRASE), and deletes it on the node; a download cut short leaves no file. Exit codes as
 * documented: 6 for a wrong passphrase, 5 for a target that is not empty, 2 for bad usage (a missing or unreadable
 * file, an output folder that does not exist, a passphrase too short, an id and --file both). A backup with the
 * artifacts' bytes restores them into the S3 store the restored node's config names (a real S3-compatible server).
 * The node's vault is on its key file (no KAI_VAULT_PASSPHRASE): `create` warns that the backup needs that file.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, openBlobBackend } from "@kai/server";
import { startS3Server, type S3Server } from "../../server/test/helpers/s3-server.js";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";

const PASSPHRASE = "the cli test's backup passphrase";
let box: Sandbox;
let server: TestServer;
const cleanup: string[] = [];

const kai = (args: string[], env: NodeJS.ProcessEnv = {}, cwd = box.dir) =>
  runKai(["--url", server.url, ...args], { cwd, env: { ...box.env, KAI_TOKEN: server.adminToken, ...env } });

beforeAll(async () => {
  box = sandbox();
  server = await startTestServer({ backup: { passphrase: PASSPHRASE, kdfIterations: 10_000 } });
  const response = await fetch(`${server.url}/api/services/register`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ id: "backed-up", name: "backed up", description: "", type: "service", capabilities: ["llm_chat"], tags: [], url: "http://127.0.0.1:9/", visibility: "public" }),
  });
  expect(response.status).toBe(201);
}, 60_000);

const s3: S3Server | null = await startS3Server();

afterAll(async () => {
  await s3?.stop();
  await server?.close();
  box?.cleanup();
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

describe("kai backup", () => {
  it("says which flag or variable gives the passphrase when neither the command nor the node has one", async () => {
    const bare = await startTestServer({});
    try {
      const created = await runKai(["--url", bare.url, "backup", "create"], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: bare.adminToken } });
      expect(created.code).toBe(6);
      expect(created.stderr).toContain("a passphrase is needed: give one with --passphrase (read from stdin or a prompt) or KAI_BACKUP_PASSPHRASE");
      expect(created.stderr).toContain("validation_failed");
      const listed = await runKai(["--url", bare.url, "backup", "list", "--json"], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: bare.adminToken } });
      expect(JSON.parse(listed.stdout)).toEqual({ backups: [] });
      // For people: no lone header line, and a word on how to take the first backup.
      const table = await runKai(["--url", bare.url, "backup", "list"], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: bare.adminToken } });
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toBe("");
      expect(table.stderr).toContain("no backups (kai backup create takes one)");
    } finally {
      await bare.close();
    }
  });

  it("creates, lists and verifies through the node; verifies and restores a file without one", async () => {
    const created = await kai(["backup", "create", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const { id, counts } = JSON.parse(created.stdout) as { id: string; counts: { services: number } };
    expect(counts.services).toBe(1);
    // The vault opens with the node's vault.key, which no backup carries: said on stderr, --json or not.
    expect(created.stderr).toContain(`warning: this node's vault opens with its key file ${join(server.dataDir, "vault.key")}, not a passphrase`);
    const listed = await kai(["backup", "list"]);
    // Asked for, not scheduled: kept until deleted (backup.retain prunes scheduled backups only).
    expect(listed.stdout).toMatch(/^ID\s+CREATED\s+BYTES\s+ARTIFACTS\s+FROM\s+TAKEN\s+WHERE$/m);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s.*\\ssqlite\\s+request\\s+local$`, "m"));
    const verified = await kai(["backup", "verify", id]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/services\s+1\s+1\s+ok/);
    // The DID and the epochs are cut short, so that the table fits a terminal (--json has them in full).
    expect(verified.stdout).toMatch(/^node identity \(DID\)\s+kind:did:\S{14}…\s+kind:did:\S{14}…\s+ok$/m);
    expect(Math.max(...verified.stdout.split("\n").map((line) => line.length))).toBeLessThanOrEqual(100);

    // Downloaded, as an operator with no shell on the node does: the node's file, byte for byte, then used from here.
    const downloads = mkdtempSync(join(tmpdir(), "kai-cli-download-"));
    cleanup.push(downloads);
    const file = join(downloads, `${id}.kaibak`);
    const downloaded = await kai(["backup", "download", id], {}, downloads);
    expect(downloaded.code, downloaded.stderr).toBe(0);
    expect(downloaded.stderr).toContain(`${id}.kaibak: `);
    expect(readFileSync(file).equals(readFileSync(join(server.dataDir, "backups", `${id}.kaibak`)))).toBe(true);
    expect((statSync(file).mode & 0o777).toString(8)).toBe("600");
    // Never over an existing file; a backup that does not exist is not found.
    const twice = await kai(["backup", "download", id, "-o", file]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("exists already");
    expect(readFileSync(file).equals(readFileSync(join(server.dataDir, "backups", `${id}.kaibak`)))).toBe(true);
    const missing = await kai(["backup", "download", "kai-backup-20200101T000000Z-aaaaaa", "-o", join(downloads, "missing.kaibak")]);
    expect(missing.code).toBe(3);
    expect(existsSync(join(downloads, "missing.kaibak"))).toBe(false);
    expect((await kai(["backup", "verify", "--file", file], { KAI_BACKUP_PASSPHRASE: PASSPHRASE })).code).toBe(0);
    const wrong = await kai(["backup", "verify", "--file", file], { KAI_BACKUP_PASSPHRASE: "not the passphrase" });
    expect(wrong.code).toBe(6);
    expect(wrong.stderr).toContain("backup_passphrase_wrong");
    expect((await kai(["backup", "verify"])).code).toBe(2);
    const both = await kai(["backup", "verify", id, "--file", file]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give a backup id or --file <file>, not both");

    const target = mkdtempSync(join(tmpdir(), "kai-cli-restore-"));
    cleanup.push(target);
    const restored = await kai(["backup", "restore", file, "--data-dir", target], { KAI_BACKUP_PASSPHRASE: PASSPHRASE });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/services\s+1\s+1\s+ok/);
    // Its table fits a terminal too (the DID in full is on the line after it), and each step is said once.
    expect(Math.max(...restored.stdout.split("\n").map((line) => line.length))).toBeLessThanOrEqual(100);
    expect(restored.stderr).toContain(" (node kind:did:");
    // The source named as the backup, not as the temporary folder it was unpacked into (gone once restored).
    expect(restored.stderr).toMatch(/^source: the backup's kai\.db \(node kind:did:/m);
    expect(restored.stderr).not.toContain(".kai-backup-open-");
    expect(restored.stderr.match(/^services: \d+ copied$/gm)).toEqual(["services: 1 copied"]);
    expect(existsSync(join(target, "kai.db"))).toBe(true);
    expect(existsSync(join(target, "node-key.pub.pem"))).toBe(true);
    const again = await kai(["backup", "restore", file, "--data-dir", target], { KAI_BACKUP_PASSPHRASE: PASSPHRASE });
    expect(again.code).toBe(5);
    expect(again.stderr).toContain("not empty");

    // Deleted on the node (the downloaded copy is not touched): no longer listed; a second delete is not found.
    const deleted = await kai(["backup", "delete", id]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stderr).toContain(`backup ${id} deleted`);
    expect(existsSync(join(server.dataDir, "backups", `${id}.kaibak`))).toBe(false);
    expect(existsSync(file)).toBe(true);
    expect((await kai(["backup", "list"])).stdout).not.toContain(id);
    const deletedAgain = await kai(["backup", "rm", id, "--json"]);
    expect(deletedAgain.code).toBe(3);
    expect(deletedAgain.stderr).toContain("not_found");
  }, 60_000);

  it("says which file or flag is wrong, as a usage error (exit 2), before anything is decrypted, fetched or written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kai-cli-paths-"));
    cleanup.push(dir);
    const env = { KAI_BACKUP_PASSPHRASE: PASSPHRASE };
    const missingFile = join(dir, "missing.kaibak");
    const verifyMissing = await kai(["backup", "verify", "--file", missingFile], env);
    expect([verifyMissing.code, verifyMissing.stderr]).toEqual([2, expect.stringContaining(`${missingFile}: no such file (usage)`)]);
    const verifyDir = await kai(["backup", "verify", "--file", dir], env);
    expect([verifyDir.code, verifyDir.stderr]).toEqual([2, expect.stringContaining(`${dir} is a directory: give a backup file (.kaibak)`)]);
    const restoreMissing = await kai(["backup", "restore", missingFile, "--data-dir", join(dir, "data")], env);
    expect([restoreMissing.code, restoreMissing.stderr]).toEqual([2, expect.stringContaining(`${missingFile}: no such file`)]);
    expect(existsSync(join(dir, "data"))).toBe(false);
    const created = await kai(["backup", "create", "--json"]);
    const { id } = JSON.parse(created.stdout) as { id: string };
    const nowhere = join(dir, "no-such-folder", "x.kaibak");
    const download = await kai(["backup", "download", id, "-o", nowhere]);
    expect([download.code, download.stderr]).toEqual([2, expect.stringContaining(`${nowhere}: its folder ${join(dir, "no-such-folder")} does not exist`)]);
    const intoDir = await kai(["backup", "download", id, "-o", dir]);
    expect([intoDir.code, intoDir.stderr]).toEqual([2, expect.stringContaining(`${dir} is a directory: give a file name`)]);
    // A file where --data-dir should be a folder.
    const downloaded = join(dir, "ok.kaibak");
    expect((await kai(["backup", "download", id, "-o", downloaded])).code).toBe(0);
    const notAFolder = await kai(["backup", "restore", downloaded, "--data-dir", join(downloaded, "data")], env);
    expect([notAFolder.code, notAFolder.stderr]).toEqual([2, expect.stringContaining(`${join(downloaded, "data")}: a part of it is not a directory (ENOTDIR)`)]);
    // A passphrase shorter than any backup's: named by where it came from, not by the request body's field.
    const short = await kai(["backup", "create"], { KAI_BACKUP_PASSPHRASE: "short" });
    expect([short.code, short.stderr]).toEqual([2, expect.stringContaining("KAI_BACKUP_PASSPHRASE must have at least 8 characters")]);
    const asked = await runKai(["--url", server.url, "backup", "create", "--passphrase"], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: server.adminToken }, input: "short\n" });
    expect([asked.code, asked.stderr]).toEqual([2, expect.stringContaining("--passphrase must have at least 8 characters")]);
    expect(asked.stderr).not.toContain("body.passphrase");
    expect((await kai(["backup", "delete", id])).code).toBe(0);
  }, 60_000);

  it("refuses to restore into SQLite for a node kai serve would start on PostgreSQL (exit 2), before the passphrase", async () => {
    const created = await kai(["backup", "create", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };
    const file = join(server.dataDir, "backups", `${id}.kaibak`);
    const dir = mkdtempSync(join(tmpdir(), "kai-cli-restore-kind-"));
    cleanup.push(dir);
    const target = join(dir, "data");
    // Nothing listens there: refused before any database is opened. No passphrase given either: asked for after.
    const url = "postgres://kai:never-printed@127.0.0.1:9/kai";
    const byUrl = await kai(["backup", "restore", file, "--data-dir", target], { KAI_DATABASE_URL: url });
    expect([byUrl.code, byUrl.stderr]).toEqual([2, expect.stringContaining(`KAI_DATABASE_URL is set: kai serve would run this node on PostgreSQL, not on ${join(target, "kai.db")}`)]);
    expect(byUrl.stderr).toContain("--postgres");
    expect(byUrl.stderr).not.toContain("never-printed");
    const byKind = await kai(["backup", "restore", file, "--data-dir", target], { KAI_STORAGE_KIND: "postgres", KAI_DATABASE_URL: url });
    expect([byKind.code, byKind.stderr]).toEqual([2, expect.stringContaining("KAI_STORAGE_KIND is postgres")]);
    const config = join(dir, "node.yaml");
    writeFileSync(config, `storage:\n  kind: postgres\n  postgres:\n    url: ${url}\n`);
    const byConfig = await kai(["backup", "restore", file, "--data-dir", target, "--config", config]);
    expect([byConfig.code, byConfig.stderr]).toEqual([2, expect.stringContaining(`${config} says storage.kind: postgres`)]);
    expect(byConfig.stderr).not.toContain("never-printed");
    expect(existsSync(target)).toBe(false);
    // KAI_STORAGE_KIND=sqlite wins over the URL, as in kai serve: restored into <data-dir>/kai.db.
    const sqlite = await kai(["backup", "restore", file, "--data-dir", target], { KAI_STORAGE_KIND: "sqlite", KAI_DATABASE_URL: url, KAI_BACKUP_PASSPHRASE: PASSPHRASE });
    expect(sqlite.code, sqlite.stderr).toBe(0);
    expect(existsSync(join(target, "kai.db"))).toBe(true);
    expect((await kai(["backup", "delete", id])).code).toBe(0);
  }, 60_000);

  it("restores where kai serve would look: KAI_DATA_DIR, or --config's dataDir, when --data-dir is not given", async () => {
    const created = await kai(["backup", "create", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };
    const file = join(server.dataDir, "backups", `${id}.kaibak`);
    const dir = mkdtempSync(join(tmpdir(), "kai-cli-restore-where-"));
    cleanup.push(dir);
    const env = { KAI_BACKUP_PASSPHRASE: PASSPHRASE };

    // Nowhere said: a usage error naming the ways to say it, before anything is read or written.
    const nowhere = await kai(["backup", "restore", file], env);
    expect([nowhere.code, nowhere.stderr]).toEqual([2, expect.stringContaining("say where the node's data goes: --data-dir <dir> (or KAI_DATA_DIR")]);

    const fromEnv = join(dir, "from-env");
    const byEnv = await kai(["backup", "restore", file], { ...env, KAI_DATA_DIR: fromEnv });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(existsSync(join(fromEnv, "kai.db"))).toBe(true);
    expect(existsSync(join(fromEnv, "node-key.pub.pem"))).toBe(true);

    // --data-dir wins, and the restore says that kai serve must then be given it.
    const given = join(dir, "given");
    const elsewhere = join(dir, "env-elsewhere");
    const byFlag = await kai(["backup", "restore", file, "--data-dir", given], { ...env, KAI_DATA_DIR: elsewhere });
    expect(byFlag.code, byFlag.stderr).toBe(0);
    expect(existsSync(join(given, "kai.db"))).toBe(true);
    expect(existsSync(elsewhere)).toBe(false);
    expect(byFlag.stderr).toContain(`note: KAI_DATA_DIR is ${elsewhere}; start the restored node with --data-dir ${given}`);

    const fromConfig = join(dir, "from-config");
    const config = join(dir, "node.yaml");
    writeFileSync(config, `dataDir: ${fromConfig}\n`);
    const byConfig = await kai(["backup", "restore", file, "--config", config], env);
    expect(byConfig.code, byConfig.stderr).toBe(0);
    expect(existsSync(join(fromConfig, "kai.db"))).toBe(true);
    expect((await kai(["backup", "delete", id])).code).toBe(0);
  }, 60_000);

  it("leaves no file behind when a download is cut short", async () => {
    // A node that promises 100,000 bytes of a backup and drops the connection after 1,000: the transfer breaks.
    const cutting = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": "100000" });
      response.write(Buffer.alloc(1000, 1), () => response.socket?.destroy());
    });
    await new Promise<void>((done) => cutting.listen(0, "127.0.0.1", done));
    const { port } = cutting.address() as AddressInfo;
    const dir = mkdtempSync(join(tmpdir(), "kai-cli-cut-"));
    cleanup.push(dir);
    try {
      const cut = await runKai(["--url", `http://127.0.0.1:${port}`, "backup", "download", "kai-backup-20200101T000000Z-aaaaaa"], { cwd: dir, env: { ...box.env, KAI_TOKEN: "any" } });
      expect(cut.code).not.toBe(0);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await new Promise((done) => cutting.close(done));
    }
  });

  it.skipIf(s3 === null)("restores the artifacts' bytes into the S3 store the restored node's config names", async () => {
    const bytes = Buffer.from("an artifact that outlives its node");
    const digest = createHash("sha256").update(bytes).digest("hex");
    const uploaded = await fetch(`${server.url}/api/artifacts?name=note.txt`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "text/plain" },
      body: bytes,
    });
    expect(uploaded.status).toBeLessThan(300);
    const created = await kai(["backup", "create", "--with-artifacts", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const { id } = JSON.parse(created.stdout) as { id: string };
    const file = join(server.dataDir, "backups", `${id}.kaibak`);

    const target = mkdtempSync(join(tmpdir(), "kai-cli-restore-s3-"));
    cleanup.push(target);
    const config = join(target, "..", `${id}-node.yaml`);
    cleanup.push(config);
    const artifacts = { store: "s3", s3: { endpoint: s3!.endpoint, region: s3!.region, bucket: s3!.bucket, prefix: `restore-${id}/`, forcePathStyle: true, accessKeyId: s3!.accessKeyId, secretAccessKey: s3!.secretAccessKey } };
    writeFileSync(config, JSON.stringify({ artifacts }));
    const restored = await kai(["backup", "restore", file, "--data-dir", target, "--config", config], { KAI_BACKUP_PASSPHRASE: PASSPHRASE });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(/artifact bytes: 1 blobs written/);
    const store = await openBlobBackend(loadConfig({ configFile: config, env: {}, overrides: { dataDir: target } }));
    expect(await store.has(digest)).toBe(true);
    expect(existsSync(join(target, "artifacts", "blobs", digest.slice(0, 2), digest))).toBe(false);

    const broken = join(target, "..", `${id}-broken.yaml`);
    cleanup.push(broken);
    writeFileSync(broken, "artifacts:\n  store: s3\n");
    const refused = await kai(["backup", "restore", file, "--data-dir", mkdtempSync(join(tmpdir(), "kai-cli-restore-bad-")), "--config", broken], { KAI_BACKUP_PASSPHRASE: PASSPHRASE });
    expect(refused.code).toBe(2);
  }, 60_000);
});
