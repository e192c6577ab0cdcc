// Offsite copies of backups (backup.offsite: s3), against a real S3-compatible server the test starts (s3rver): a
// backup taken is also in the bucket, byte for byte; a node whose disk was lost (a fresh data directory, the same
// bucket) lists it as offsite only, verifies it and hands out its file (fetched back first), and `kai backup restore
// --offsite` restores it straight from the bucket; deleting removes it from
// the bucket too; retention applies there; an offsite store that does not answer leaves the backup local, says so in
// the answer, the listing, the metrics and the CLI's exit code, and its credentials appear nowhere.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackupListResponse, BackupVerification, CreateBackupResponse } from "@kai/protocol";
import { BackupService } from "../../src/backup/backup-service.js";
import { OffsiteStore, partSizeFor } from "../../src/backup/offsite-store.js";
import { openBlobBackend } from "../../src/artifacts/open-artifacts.js";
import { ConfigSchema } from "../../src/config/config-schema.js";
import { describeS3Error, s3ErrorWords } from "../../src/storage/s3-connection.js";
import { ConfigError, loadConfig, type ConfigSources } from "../../src/config/load-config.js";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { startS3Server, type S3Server } from "../helpers/s3-server.js";
import { sampleOf } from "../helpers/exposition.js";
import { mintToken } from "../helpers/test-server.js";

const CLI = fileURLToPath(new URL("../../../cli/dist/main.js", import.meta.url));
const PASSPHRASE = "offsite backup passphrase";
const CANARY_SECRET = "kai-canary-offsite-secret-7f3a9c";

const s3: S3Server | null = await startS3Server();
let bucket: S3Client;
let first: TestServer;
let afterDiskLoss: TestServer;
let unreachable: TestServer;

const offsiteConfig = (prefix: string) => ({
  store: "s3" as const,
  s3: { endpoint: s3!.endpoint, region: s3!.region, bucket: s3!.bucket, prefix, forcePathStyle: true, accessKeyId: s3!.accessKeyId, secretAccessKey: s3!.secretAccessKey },
});

async function keysUnder(prefix: string): Promise<string[]> {
  const page = await bucket.send(new ListObjectsV2Command({ Bucket: s3!.bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key!).sort();
}

async function objectBytes(key: string): Promise<Buffer> {
  const object = await bucket.send(new GetObjectCommand({ Bucket: s3!.bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

function kai(node: TestServer, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, KAI_TOKEN: node.adminToken, KAI_BACKUP_PASSPHRASE: PASSPHRASE };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, "--url", node.url, ...args], { env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  if (!s3) return;
  bucket = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  first = await startTestServer({ config: { backup: { offsite: offsiteConfig("node-one/") } } });
  unreachable = await startTestServer({
    config: {
      backup: {
        // Port 9 on loopback: nothing listens there, every request is refused.
        offsite: { store: "s3", s3: { endpoint: "http://127.0.0.1:9", bucket: "kai-offsite", forcePathStyle: true, accessKeyId: "AKIAOFFSITECANARY", secretAccessKey: CANARY_SECRET } },
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await first?.dispose();
  await afterDiskLoss?.dispose();
  await unreachable?.dispose();
  bucket?.destroy();
  await s3?.stop();
});

describe.skipIf(!s3)("offsite copies of backups (backup.offsite: s3)", () => {
  let taken: CreateBackupResponse;
  let localBytes: Buffer;

  it("copies each backup taken to the bucket, byte for byte, and lists it in both places", async () => {
    expect((await first.request("/api/services/register", { method: "POST", json: registration({ id: "offsite-kept" }) })).status).toBe(201);
    taken = await json<CreateBackupResponse>(await first.request("/api/backups", { method: "POST", json: { passphrase: PASSPHRASE } }), 201);
    expect(taken.locations).toEqual(["local", "offsite"]);
    expect(taken.offsiteError).toBeUndefined();
    expect(await keysUnder("node-one/")).toEqual([`node-one/${taken.id}.kaibak`]);
    localBytes = readFileSync(join(first.dataDir, "backups", `${taken.id}.kaibak`));
    expect(sha256(await objectBytes(`node-one/${taken.id}.kaibak`))).toBe(sha256(localBytes));
    const listing = await json<BackupListResponse>(await first.request("/api/backups"), 200);
    expect(listing.offsiteError).toBeUndefined();
    expect(listing.backups.map((backup) => [backup.id, backup.locations])).toEqual([[taken.id, ["local", "offsite"]]]);
    const listed = await kai(first, ["backup", "list"]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${taken.id}\\s.*\\slocal\\+offsite$`, "m"));
  });

  it("after the node's disk is lost, a fresh node on the same bucket lists, verifies and hands out the backup", async () => {
    afterDiskLoss = await startTestServer({ config: { backup: { offsite: offsiteConfig("node-one/") } } });
    const listing = await json<BackupListResponse>(await afterDiskLoss.request("/api/backups"), 200);
    // What the answer alone carries: the counts and what to know when restoring (this node's vault is on its key file).
    const { counts: _counts, warnings: _warnings, ...summary } = taken;
    expect(listing.backups).toEqual([{ ...summary, locations: ["offsite"] }]);
    // Verified through the node: it fetches the file back into its backup directory first.
    const verified = await json<BackupVerification>(await afterDiskLoss.request(`/api/backups/${taken.id}/verify`, { method: "POST", json: { passphrase: PASSPHRASE } }), 200);
    expect(verified.ok).toBe(true);
    expect(verified.counts.services).toBeGreaterThanOrEqual(1);
    expect(existsSync(join(afterDiskLoss.dataDir, "backups", `${taken.id}.kaibak`))).toBe(true);
    expect(afterDiskLoss.logs.some((line) => line.includes("backup fetched from the offsite store"))).toBe(true);
    const download = await afterDiskLoss.request(`/api/backups/${taken.id}/download`);
    expect(download.status).toBe(200);
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(localBytes));
    const again = await json<BackupListResponse>(await afterDiskLoss.request("/api/backups"), 200);
    expect(again.backups.map((backup) => backup.locations)).toEqual([["local", "offsite"]]);
    // An id the bucket does not hold either: 404, as before.
    expect((await afterDiskLoss.request("/api/backups/kai-backup-20200101T000000Z-aaaaaa/verify", { method: "POST", json: { passphrase: PASSPHRASE } })).status).toBe(404);
  });

  it("kai backup restore --offsite restores a backup straight from the bucket onto an empty data directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kai-offsite-restore-"));
    try {
      const config = join(dir, "kai.yaml");
      writeFileSync(config, JSON.stringify({ backup: { offsite: offsiteConfig("node-one/") } }));
      const restore = (args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(process.execPath, [CLI, "backup", "restore", ...args], { env: { ...process.env, KAI_BACKUP_PASSPHRASE: PASSPHRASE } }, (error, stdout, stderr) => {
            resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
          });
        });
      const restored = await restore([taken.id, "--offsite", "--config", config, "--data-dir", join(dir, "data")]);
      expect(restored.code, restored.stderr).toBe(0);
      expect(restored.stderr).toContain(`restored ${taken.id}`);
      expect(existsSync(join(dir, "data", "kai.db"))).toBe(true);
      // Nothing of the download is left behind.
      expect(readdirSync(tmpdir()).filter((name) => name.startsWith("kai-restore-")).some((name) => existsSync(join(tmpdir(), name, `${taken.id}.kaibak`)))).toBe(false);
      // A backup the bucket does not hold: exit 3; no offsite store configured: a usage error (exit 2); not an id: exit 2.
      expect((await restore(["kai-backup-20200101T000000Z-aaaaaa", "--offsite", "--config", config, "--data-dir", join(dir, "other")])).code).toBe(3);
      writeFileSync(join(dir, "plain.yaml"), "{}");
      const unconfigured = await restore([taken.id, "--offsite", "--config", join(dir, "plain.yaml"), "--data-dir", join(dir, "other")]);
      expect(unconfigured.code).toBe(2);
      expect(unconfigured.stderr).toMatch(/--offsite needs the node's offsite store/);
      expect((await restore(["some-file.kaibak", "--offsite", "--config", config, "--data-dir", join(dir, "other")])).code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Four CLI processes, each loading the server package: more than the default 20 s on a loaded machine.
  }, 60_000);

  it("deleting a backup removes its offsite copy too", async () => {
    expect((await afterDiskLoss.request(`/api/backups/${taken.id}`, { method: "DELETE" })).status).toBe(204);
    expect(await keysUnder("node-one/")).toEqual([]);
    expect(existsSync(join(afterDiskLoss.dataDir, "backups", `${taken.id}.kaibak`))).toBe(false);
    // The first node still has its own file, now local only.
    const listing = await json<BackupListResponse>(await first.request("/api/backups"), 200);
    expect(listing.backups.map((backup) => [backup.id, backup.locations])).toEqual([[taken.id, ["local"]]]);
    expect((await afterDiskLoss.request(`/api/backups/${taken.id}`, { method: "DELETE" })).status).toBe(404);
  });

  it("retention keeps the newest scheduled backups in the bucket as in the directory, and never one asked for", async () => {
    const config = ConfigSchema.parse({ dataDir: first.dataDir });
    const service = new BackupService({
      dataDir: first.dataDir,
      keyDir: first.dataDir,
      dir: join(first.dataDir, "retention"),
      storage: "sqlite",
      blobs: () => openBlobBackend(config),
      passphrase: PASSPHRASE,
      kdfIterations: 10_000,
      offsite: new OffsiteStore({ endpoint: s3!.endpoint, region: s3!.region, bucket: s3!.bucket, prefix: "retention/", forcePathStyle: true, accessKeyId: s3!.accessKeyId, secretAccessKey: s3!.secretAccessKey }),
      logger: pino({ level: "silent" }),
    });
    const asked = (await service.create()).id;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await service.create({ scheduled: true })).id);
      // Ids carry the second they were taken: one second apart, their order is the order they were taken in.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
    }
    expect(await keysUnder("retention/")).toHaveLength(4);
    // A scheduled backup kept only in the bucket (another instance's, or its file deleted here): pruned by its metadata.
    rmSync(join(first.dataDir, "retention", `${ids[0]}.kaibak`));
    const pruned = await service.prune(1);
    expect(pruned.sort()).toEqual(ids.slice(0, 2).sort());
    expect(await keysUnder("retention/")).toEqual([`retention/${asked}.kaibak`, `retention/${ids[2]}.kaibak`].sort());
    expect((await service.listLocal()).map((backup) => backup.id)).toEqual([ids[2], asked]);
  }, 60_000);

  it("an offsite store that does not answer leaves the backup local and says so, and its credentials appear nowhere", async () => {
    const created = await unreachable.request("/api/backups", { method: "POST", json: { passphrase: PASSPHRASE } });
    const body = await created.text();
    expect(created.status, body).toBe(201);
    const answer = JSON.parse(body) as CreateBackupResponse;
    expect(answer.locations).toEqual(["local"]);
    // The cause, as the system said it (the SDK's name for it is a bare "Error"), never more of the request.
    expect(answer.offsiteError).toBe("the offsite backup store (backup.offsite) failed to copy a backup there (ECONNREFUSED: connection refused)");
    expect(existsSync(join(unreachable.dataDir, "backups", `${answer.id}.kaibak`))).toBe(true);

    const listing = await unreachable.request("/api/backups");
    const listingText = await listing.text();
    expect(listing.status).toBe(200);
    const listed = JSON.parse(listingText) as BackupListResponse;
    expect(listed.backups.map((backup) => backup.id)).toEqual([answer.id]);
    expect(listed.offsiteError).toBe("the offsite backup store (backup.offsite) failed to list the backups (ECONNREFUSED: connection refused)");

    const metrics = await (await unreachable.request("/metrics", { token: await mintToken(unreachable, ["metrics:read"]) })).text();
    expect(sampleOf(metrics, "kai_backup_offsite_failures_total")).toBe(1);
    expect(sampleOf(metrics, "kai_backup_failures_total")).toBe(0);

    // The CLI: the backup is taken, but a job running `kai backup create` hears that its offsite copy failed (exit 7).
    const cli = await kai(unreachable, ["backup", "create"]);
    expect(cli.code, cli.stderr).toBe(7);
    expect(cli.stderr).toMatch(/was taken and is kept in the node's backup directory, but its offsite copy failed/);
    const cliList = await kai(unreachable, ["backup", "list"]);
    expect(cliList.code).toBe(0);
    expect(cliList.stderr).toMatch(/the offsite store could not be listed/);

    // Deleting while the store is down: the directory's file goes all the same, the answer says the copy was left.
    const file = join(unreachable.dataDir, "backups", `${answer.id}.kaibak`);
    const deleted = await unreachable.request(`/api/backups/${answer.id}`, { method: "DELETE" });
    const deletedText = await deleted.text();
    expect(deleted.status, deletedText).toBe(503);
    expect(JSON.parse(deletedText)).toMatchObject({
      error: {
        code: "backup_offsite_unavailable",
        message: `backup ${answer.id} was deleted from the backup directory, but its offsite copy was not: the offsite backup store (backup.offsite) failed to look for a backup (ECONNREFUSED: connection refused). Delete it again once the store answers (it is listed as offsite until then)`,
      },
    });
    expect(existsSync(file)).toBe(false);
    expect(unreachable.logs.some((line) => line.includes(answer.id) && line.includes("the backup's offsite copy could not be deleted"))).toBe(true);
    // The CLI, on a backup taken by the node's schedule or a job: exit 7, saying what was done.
    const another = await json<CreateBackupResponse>(await unreachable.request("/api/backups", { method: "POST", json: { passphrase: PASSPHRASE } }), 201);
    const cliDelete = await kai(unreachable, ["backup", "delete", another.id]);
    expect(cliDelete.code, cliDelete.stderr).toBe(7);
    expect(cliDelete.stderr).toContain(`backup ${another.id} was deleted from the backup directory, but its offsite copy was not`);
    expect(existsSync(join(unreachable.dataDir, "backups", `${another.id}.kaibak`))).toBe(false);
    // One in neither place here: the store must be asked, and cannot be (503, not a false "not found").
    expect((await unreachable.request(`/api/backups/${answer.id}`, { method: "DELETE" })).status).toBe(503);

    const config = await (await unreachable.request("/api/config")).text();
    // The secret nowhere; the access key id (an identifier, not a secret: shown redacted-free by /api/config, as
    // artifacts.s3's is) in no answer of the backup routes, no CLI output and no log line either.
    expect(config).toContain('"secretAccessKey":"[redacted]"');
    for (const text of [body, listingText, deletedText, metrics, cli.stdout, cli.stderr, cliList.stdout, cliList.stderr, cliDelete.stderr, config, unreachable.logs.join("\n")]) {
      expect(text).not.toContain(CANARY_SECRET);
      if (text !== config) expect(text).not.toContain("AKIAOFFSITECANARY");
    }
  });
});

describe("the offsite copy's multipart upload", () => {
  it("uses S3's smallest part until a backup would need more than S3's 10,000 parts, then parts large enough", () => {
    const MiB = 1024 ** 2;
    expect(partSizeFor(0)).toBe(5 * MiB);
    expect(partSizeFor(10 * 1024 * MiB)).toBe(5 * MiB);
    for (const bytes of [48 * 1024 ** 3, 100 * 1024 ** 3, 5 * 1024 ** 4]) {
      const part = partSizeFor(bytes);
      expect(Math.ceil(bytes / part)).toBeLessThanOrEqual(10_000);
      expect(part).toBeGreaterThan(5 * MiB);
    }
  });
});

describe("what an S3 failure's message may say (storage/s3-connection.ts)", () => {
  const KEY_ID = "AKIAIOSFODNN7EXAMPLE";

  it("tells the S3 error's own code, and system and TLS codes", () => {
    expect(s3ErrorWords(Object.assign(new Error("The AWS Access Key Id you provided does not exist"), { code: "InvalidAccessKeyId" }))).toBe("InvalidAccessKeyId");
    expect(describeS3Error({ name: "InvalidAccessKeyId", code: "InvalidAccessKeyId", $metadata: { httpStatusCode: 403 } })).toEqual({ name: "InvalidAccessKeyId", status: 403, code: "InvalidAccessKeyId" });
    expect(s3ErrorWords({ name: "InvalidAccessKeyId", $metadata: { httpStatusCode: 403 } })).toBe("InvalidAccessKeyId, HTTP 403");
    expect(s3ErrorWords({ name: "Error", cause: { code: "ECONNREFUSED" } })).toBe("ECONNREFUSED: connection refused");
    expect(s3ErrorWords({ name: "Error", errors: [{ code: "EAI_AGAIN" }] })).toBe("EAI_AGAIN: the host name could not be looked up now");
    expect(s3ErrorWords({ name: "Error", cause: { code: "ERR_TLS_CERT_ALTNAME_INVALID" } })).toBe("ERR_TLS_CERT_ALTNAME_INVALID: the store's TLS certificate is for another host");
    expect(s3ErrorWords({ name: "Error", cause: { code: "CERT_HAS_EXPIRED" } })).toBe("CERT_HAS_EXPIRED: the store's TLS certificate has expired");
    expect(describeS3Error({ name: "NoSuchBucket", $metadata: { httpStatusCode: 404 } })).toEqual({ name: "NoSuchBucket", status: 404, code: undefined });
  });

  it("never tells a code (or a name) shaped like an access key id, nor a message", () => {
    const shown = [
      s3ErrorWords({ name: "Error", code: KEY_ID }),
      s3ErrorWords({ name: "Error", cause: { code: KEY_ID } }),
      s3ErrorWords({ name: "Error", errors: [{ code: KEY_ID }] }),
      s3ErrorWords({ name: KEY_ID, $metadata: { httpStatusCode: 403 } }),
      s3ErrorWords(Object.assign(new Error(`access key ${KEY_ID} refused`), { code: `denied for ${KEY_ID}` })),
    ];
    expect(describeS3Error({ name: "Error", code: KEY_ID }).code).toBeUndefined();
    expect(describeS3Error({ name: KEY_ID }).name).toBe("Error");
    for (const words of shown) expect(words).not.toContain(KEY_ID);
    expect(shown).toEqual(["Error", "Error", "Error", "Error, HTTP 403", "Error"]);
    // A safe code further down is still told past one that is not.
    expect(s3ErrorWords({ name: "Error", code: KEY_ID, cause: { code: "ECONNRESET" } })).toBe("ECONNRESET: connection reset");
  });
});

describe("backup.offsite settings", () => {
  // Settings as a config file would hold them, some of them wrong: typed loosely on purpose.
  const load = (offsite: Record<string, unknown>) => () => loadConfig({ env: {}, overrides: { backup: { offsite } } as ConfigSources["overrides"] });

  it("is off by default, and s3 needs a bucket and both keys or neither", () => {
    expect(loadConfig({ env: {} }).backup.offsite).toMatchObject({ store: "off", s3: { prefix: "kai-backups/", region: "us-east-1" } });
    expect(load({ store: "s3" })).toThrow(ConfigError);
    expect(load({ store: "s3" })).toThrow(/backup\.offsite\.store s3 needs backup\.offsite\.s3\.bucket/);
    expect(load({ store: "s3", s3: { bucket: "kai-backups", accessKeyId: "AKIAONLYHALF" } })).toThrow(/needs both accessKeyId and secretAccessKey, or neither/);
    expect(load({ store: "s3", s3: { bucket: "Not A Bucket" } })).toThrow(/an S3 bucket name/);
    expect(load({ store: "s3", s3: { bucket: "kai-backups", prefix: "no-slash" } })).toThrow(/segments each ending in \//);
    expect(loadConfig({ env: {}, overrides: { backup: { offsite: { store: "s3", s3: { bucket: "kai-backups" } } } } }).backup.offsite.s3.bucket).toBe("kai-backups");
  });
});
