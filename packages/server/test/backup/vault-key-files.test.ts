// Backups and the files a node keeps beside its database, on real nodes (SQLite): a node whose vault is on the
// development default (vault.key, no passphrase) is warned at each backup that the backup opens only with that file,
// and the restore says to copy it (not to give a passphrase there is none of); with it, the restored node unlocks and
// mints its admin token. `restore --force` over another node's data directory renames that node's vault.key (and a
// vault.key.new) aside, bytes kept, mode 0600, named in the notes: no backup carries it, so it may be the only key of
// that node's backups; it removes that node's admin.token and first-admin.password (no key to any backup; left, the
// restored node would point at a stale one-time password). A vault.key that opens the restored vault (the node
// restored onto itself) stays where it is. A refused restore leaves no folder it created.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BackupListResponse, CreateBackupResponse } from "@kai/protocol";
import { readBackupHeader, restoreBackup } from "../../src/backup/index.js";
import { ApiError } from "../../src/errors.js";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";

const BACKUP_PASSPHRASE = "backup passphrase of the key-file test";
const VAULT_PASSPHRASE = "vault passphrase of the key-file test";
const FAST = { vault: { pbkdf2Iterations: 10_000 }, backup: { kdfIterations: 10_000 } };

let keyFileNode: TestServer;
let passphraseNode: TestServer;
let keyFileBackup: CreateBackupResponse;
let passphraseBackup: CreateBackupResponse;
const cleanup: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(dir);
  return dir;
}

async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(() => expect.fail("should have been refused"), (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

const fileOf = (node: TestServer, backup: CreateBackupResponse) => join(node.dataDir, "backups", `${backup.id}.kaibak`);

beforeAll(async () => {
  keyFileNode = await startTestServer({ config: FAST });
  passphraseNode = await startTestServer({ env: { KAI_VAULT_PASSPHRASE: VAULT_PASSPHRASE }, config: FAST });
  for (const node of [keyFileNode, passphraseNode]) {
    expect((await node.request("/api/services/register", { method: "POST", json: registration({ id: "kept" }) })).status).toBe(201);
  }
  keyFileBackup = await json<CreateBackupResponse>(await keyFileNode.request("/api/backups", { method: "POST", json: { passphrase: BACKUP_PASSPHRASE } }), 201);
  passphraseBackup = await json<CreateBackupResponse>(await passphraseNode.request("/api/backups", { method: "POST", json: { passphrase: BACKUP_PASSPHRASE } }), 201);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([keyFileNode?.dispose(), passphraseNode?.dispose()]);
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

describe("a node whose vault opens with its key file (vault.key)", () => {
  it("is warned at each backup that it opens only with that file: in the answer, the log, the header and the listing", async () => {
    const keyFile = join(keyFileNode.dataDir, "vault.key");
    expect(existsSync(keyFile)).toBe(true);
    expect(keyFileBackup.vaultUnseal).toBe("key-file");
    expect(keyFileBackup.scheduled).toBe(false);
    expect(keyFileBackup.warnings).toHaveLength(1);
    expect(keyFileBackup.warnings![0]).toContain(`this node's vault opens with its key file ${keyFile}, not a passphrase, and the backup does not carry that file`);
    expect(keyFileNode.logs.some((line) => line.includes(keyFileBackup.id) && line.includes("the backup does not carry that file"))).toBe(true);
    expect((await readBackupHeader(fileOf(keyFileNode, keyFileBackup))).header).toMatchObject({ vaultUnseal: "key-file", scheduled: false });
    const listing = await json<BackupListResponse>(await keyFileNode.request("/api/backups"), 200);
    expect(listing.backups.find((backup) => backup.id === keyFileBackup.id)).toMatchObject({ vaultUnseal: "key-file", scheduled: false });
    // A node on a passphrase: nothing to warn of.
    expect(passphraseBackup.vaultUnseal).toBe("passphrase");
    expect(passphraseBackup.warnings).toBeUndefined();
  });

  it("restores with a note to copy vault.key (no passphrase there is none of); with it the node unlocks and mints its token", async () => {
    const dataDir = tempDir("kai-restore-key-file-");
    const report = await restoreBackup({ file: fileOf(keyFileNode, keyFileBackup), passphrase: BACKUP_PASSPHRASE, dataDir });
    expect(report.copy.ok).toBe(true);
    expect(report.notes.some((note) => note.includes(`copy that node's vault.key into ${join(dataDir, "vault.key")} (mode 0600) before starting the node`))).toBe(true);
    expect(report.notes.some((note) => /vault passphrase/.test(note))).toBe(false);
    // No artifacts: no word about their bytes.
    expect(report.notes.filter((note) => note.includes("artifact"))).toEqual([]);
    copyFileSync(join(keyFileNode.dataDir, "vault.key"), join(dataDir, "vault.key"));
    const restored = await startTestServer({ keepDataDir: dataDir });
    try {
      expect(restored.adminToken).not.toBe("");
      expect((await json<{ locked: boolean }>(await restored.request("/api/vault/status"), 200)).locked).toBe(false);
      expect((await restored.request("/api/services/kept")).status).toBe(200);
    } finally {
      await restored.dispose();
    }
  }, 60_000);

  it("restored with --force onto its own data directory keeps the vault.key that opens it", async () => {
    const dataDir = tempDir("kai-restore-onto-itself-");
    const own = await startTestServer({ keepDataDir: dataDir, config: FAST });
    const taken = await json<CreateBackupResponse>(await own.request("/api/backups", { method: "POST", json: { passphrase: BACKUP_PASSPHRASE } }), 201);
    const vaultKey = readFileSync(join(dataDir, "vault.key"));
    await own.dispose();
    const report = await restoreBackup({ file: fileOf(own, taken), passphrase: BACKUP_PASSPHRASE, dataDir, force: true });
    expect(report.copy.ok).toBe(true);
    expect(readFileSync(join(dataDir, "vault.key")).equals(vaultKey)).toBe(true);
    expect(existsSync(join(dataDir, "admin.token"))).toBe(true);
    expect(readdirSync(dataDir).filter((name) => name.includes(".replaced-"))).toEqual([]);
    expect(report.notes).toContain(`the vault opens with ${join(dataDir, "vault.key")}, already there (the development default's key file): start the node as before`);
    const again = await startTestServer({ keepDataDir: dataDir });
    try {
      expect((await json<{ locked: boolean }>(await again.request("/api/vault/status"), 200)).locked).toBe(false);
    } finally {
      await again.dispose();
    }
  }, 60_000);
});

describe("restore over another node's data directory", () => {
  it("is refused without --force; with it, that node's vault.key is renamed aside (kept), its admin.token and first-admin.password removed", async () => {
    const dataDir = tempDir("kai-restore-over-other-");
    const other = await startTestServer({ keepDataDir: dataDir, config: FAST });
    await other.dispose();
    for (const name of ["vault.key", "admin.token", "first-admin.password"]) expect(existsSync(join(dataDir, name)), name).toBe(true);
    // The replaced node's keys: its vault.key and the vault.key.new of a rekey it never finished.
    const otherKey = readFileSync(join(dataDir, "vault.key"));
    const pendingKey = randomBytes(32);
    writeFileSync(join(dataDir, "vault.key.new"), pendingKey, { mode: 0o644 });
    const file = fileOf(passphraseNode, passphraseBackup);
    expect((await refusal(restoreBackup({ file, passphrase: BACKUP_PASSPHRASE, dataDir }))).code).toBe("conflict");
    expect(readFileSync(join(dataDir, "vault.key")).equals(otherKey)).toBe(true);
    // A data directory holding only such a key: the refusal names it, and what --force would do with it.
    const onlyKey = tempDir("kai-restore-only-key-");
    writeFileSync(join(onlyKey, "vault.key"), otherKey, { mode: 0o600 });
    const refused = await refusal(restoreBackup({ file, passphrase: BACKUP_PASSPHRASE, dataDir: onlyKey }));
    expect(refused.code).toBe("conflict");
    expect(refused.message).toBe(`${join(onlyKey, "vault.key")} does not open the restored vault (another node's, or another vault's): restore into an empty data directory, or use --force to rename it aside (it is kept)`);
    expect(readdirSync(onlyKey)).toEqual(["vault.key"]);

    const report = await restoreBackup({ file, passphrase: BACKUP_PASSPHRASE, dataDir, force: true });
    expect(report.copy.ok).toBe(true);
    for (const name of ["vault.key", "vault.key.new", "admin.token", "first-admin.password"]) expect(existsSync(join(dataDir, name)), name).toBe(false);
    // Never deleted: each under `<name>.replaced-<UTC time>`, its bytes unchanged, mode 0600, named in a note.
    const stamp = "\\d{8}T\\d{6}Z";
    for (const [name, bytes] of [["vault.key", otherKey], ["vault.key.new", pendingKey]] as const) {
      const aside = readdirSync(dataDir).filter((entry) => new RegExp(`^${name.replace(/\./g, "\\.")}\\.replaced-${stamp}$`).test(entry));
      expect(aside, name).toHaveLength(1);
      const path = join(dataDir, aside[0]!);
      expect(readFileSync(path).equals(bytes), name).toBe(true);
      expect(statSync(path).mode & 0o777, name).toBe(0o600);
      expect(report.notes.some((note) => note.startsWith(`--force renamed ${join(dataDir, name)}, which does not open the restored vault, to ${path} (mode 0600)`)), name).toBe(true);
    }
    // The admin token and one-time password open no backup: removed, and said so.
    expect(report.notes).toContain(`--force removed what the replaced node left: ${join(dataDir, "admin.token")}, ${join(dataDir, "first-admin.password")}`);
    expect(report.notes.some((note) => note.startsWith("--force removed") && note.includes("vault.key"))).toBe(false);
    expect(report.notes).toContain("the vault is sealed as it was: start the node with the same vault passphrase as before (KAI_VAULT_PASSPHRASE, or kai vault unlock)");

    // The restored node: its own vault opens, a new admin token is minted, no stale one-time password is pointed at.
    const restored = await startTestServer({ keepDataDir: dataDir, env: { KAI_VAULT_PASSPHRASE: VAULT_PASSPHRASE } });
    try {
      expect(restored.adminTokenCreated).toBe(true);
      expect(restored.firstAdminPasswordPath).toBeNull();
      expect((await json<{ locked: boolean }>(await restored.request("/api/vault/status"), 200)).locked).toBe(false);
      expect(restored.logs.filter((line) => line.includes("vault.key"))).toEqual([]);
    } finally {
      await restored.dispose();
    }
  }, 60_000);

  it("a refused restore removes the data directory it created, and nothing that was there before", async () => {
    // A key directory holding another node's audit.key: refused before anything is written.
    const keyDir = tempDir("kai-restore-foreign-keys-");
    writeFileSync(join(keyDir, "audit.key"), randomBytes(32), { mode: 0o600 });
    const parent = tempDir("kai-restore-created-");
    const dataDir = join(parent, "new", "data");
    const refused = await refusal(restoreBackup({ file: fileOf(passphraseNode, passphraseBackup), passphrase: BACKUP_PASSPHRASE, dataDir, keyDir }));
    expect(refused.code).toBe("conflict");
    expect(refused.message).toContain(join(keyDir, "audit.key"));
    expect(existsSync(join(parent, "new"))).toBe(false);
    expect(existsSync(join(keyDir, "audit.key"))).toBe(true);
  }, 60_000);
});
