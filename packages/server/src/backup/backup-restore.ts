/**
 * @module backup/backup-restore
 * `kai backup restore`: a backup onto an empty node, offline (the node stopped). The backup is opened and checked
 * (backup-open.ts), then copied into the target backend with `kai storage copy`'s steps (storage/copy/), which
 * refuse a target that is not empty unless `force`, and verify the result kind by kind. The target is the node's
 * SQLite database (`<dataDir>/kai.db`) or any backend `openStore` takes, PostgreSQL included. Then the files a node
 * keeps beside its database: the public key into the data directory, `audit.key` into the key directory, and the
 * artifacts' bytes (when the backup has them) into the blob store.
 *
 * The vault comes back as it was: sealed, its ciphertext unchanged, opened by the same passphrase as before, or, for
 * a vault on the development default, by the same `vault.key`, which no backup carries: the notes say which, read
 * from the restored vault's own header (so older backups, whose header does not say, are told right too).
 * Why offline only: a live node holds the registry, tokens and vault in memory and in other instances; replacing
 * its database under it would serve a mix of both until restarted. Files already there are never replaced
 * silently: another node's key or audit key, a `vault.key` that does not open the restored vault, and another node's
 * `admin.token` and `first-admin.password` are refused, or with `force` replaced, set aside or removed (left in place,
 * the node would log that its vault.key is wrong, and its banner would point at a password of the node replaced); a
 * plain private key file (`node-key.pem`, another identity) is always refused. A `vault.key` (or `vault.key.new`) is
 * never deleted, `force` or not: no backup carries it, so it may be the only key that opens the replaced node's other
 * backups. It is renamed aside (`vault.key.replaced-<UTC time>`, 0600, never over an existing file) and the notes name
 * it. The admin token and one-time password are no key of any backup (a restored node mints its own): removed. A
 * restore that fails removes the folders it created, so that a refused one leaves nothing behind.
 */
import { existsSync, readFileSync } from "node:fs";
import { chmod, copyFile, link, mkdir, readdir, rm } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import type { BackupHeader } from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { BlobStore } from "../artifacts/blob-store.js";
import { FsBlobStore } from "../artifacts/fs-blob-store.js";
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from "../identity/node-key.js";
import { ADMIN_TOKEN_FILE } from "../auth/admin-token.js";
import { FIRST_ADMIN_FILE } from "../auth/users/first-admin.js";
import { auditKeyPath, pendingVaultKeyPath, readKeyFile, removeKeyFile, vaultKeyPath } from "../vault/key-files.js";
import { parseStoredKdf, type StoredKdf } from "../vault/crypto/kdf.js";
import { openHeader } from "../vault/vault-header.js";
import type { VaultHeaderRow } from "../storage/contracts/vault-store.js";
import { copyStorage, type CopyReport } from "../storage/copy/copy-storage.js";
import { assertSqliteNotInUse, SQLITE_FILE } from "../storage/copy/sqlite-source.js";
import { openStore, type OpenStoreOptions } from "../storage/index.js";
import { openBackup } from "./backup-open.js";

export interface RestoreOptions {
  file: string;
  passphrase: string;
  /** The node's data directory (created when missing). */
  dataDir: string;
  /** Where the node keeps `audit.key` (its `vault.keyDir`); default the data directory. */
  keyDir?: string;
  /** The target backend; default SQLite in `<dataDir>/kai.db`. */
  to?: OpenStoreOptions;
  /** Where the artifacts' bytes go; default the filesystem store in `<dataDir>/artifacts`. */
  blobs?: BlobStore;
  /**
   * Empty a target that is not empty, replace key files of another node, rename aside a `vault.key` that does not open
   * the restored vault (never deleted), and remove another node's admin token and one-time password.
   */
  force?: boolean;
  /** Where the backup is unpacked while restoring (default the system's temporary folder). */
  workDir?: string;
  onProgress?: (message: string) => void;
}

export interface RestoreReport {
  header: BackupHeader;
  copy: CopyReport;
  blobs: number;
  notes: string[];
}

export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const progress = options.onProgress ?? (() => undefined);
  const keyDir = options.keyDir ?? options.dataDir;
  const to: OpenStoreOptions = options.to ?? { kind: "sqlite", path: join(options.dataDir, SQLITE_FILE) };
  const opened = await openBackup(options.file, options.passphrase, options.workDir);
  // The folders this restore made (the first of each path made): removed again unless it succeeds.
  const made: string[] = [];
  let finished = false;
  try {
    progress(`backup ${opened.header.id} of ${opened.header.did} (${opened.header.createdAt}): ${opened.manifest.files.length} files, hashes match`);
    // Every refusal before anything is written.
    for (const dir of [options.dataDir, keyDir]) {
      const first = await mkdir(dir, { recursive: true, mode: 0o700 });
      if (first !== undefined) made.push(first);
    }
    if (existsSync(join(options.dataDir, PRIVATE_KEY_FILE))) {
      throw new ApiError("conflict", `${join(options.dataDir, PRIVATE_KEY_FILE)} is another node key: restore into an empty data directory (or move that file away)`);
    }
    const publicKey = join(options.dataDir, PUBLIC_KEY_FILE);
    // The node restored onto its own data directory: its admin token and first admin's password may still hold.
    const sameNode = existsSync(publicKey) && readFileSync(publicKey).equals(readFileSync(join(opened.dir, PUBLIC_KEY_FILE)));
    const keyFiles: Array<[string, string]> = [[join(opened.dir, PUBLIC_KEY_FILE), publicKey]];
    if (existsSync(join(opened.dir, "audit.key"))) keyFiles.push([join(opened.dir, "audit.key"), auditKeyPath(keyDir)]);
    for (const [from, into] of keyFiles) {
      if (existsSync(into) && !readFileSync(into).equals(readFileSync(from)) && !options.force) {
        throw new ApiError("conflict", `${into} belongs to another node: restore into an empty data directory, or use --force to replace it`);
      }
    }
    const vault = await vaultOf(opened.dir);
    const unsealKeys = unsealKeysIn(keyDir, vault);
    // Another vault's key files: set aside, never deleted (see the module header).
    const foreignKeys = unsealKeys.filter((key) => !key.opens).map((key) => key.path);
    // The replaced node's admin token and one-time password: no key to anything a backup holds, removed.
    const stale = sameNode ? [] : [ADMIN_TOKEN_FILE, FIRST_ADMIN_FILE].map((name) => join(options.dataDir, name)).filter((path) => existsSync(path));
    if (foreignKeys.length > 0 && !options.force) {
      throw new ApiError("conflict", `${foreignKeys[0]} does not open the restored vault (another node's, or another vault's): restore into an empty data directory, or use --force to rename it aside (it is kept)`);
    }
    if (stale.length > 0 && !options.force) {
      throw new ApiError("conflict", `${stale[0]} belongs to another node: restore into an empty data directory, or use --force to remove it`);
    }
    if (to.kind === "sqlite" && existsSync(to.path)) assertSqliteNotInUse(to.path);

    // The copy names its source by path: here a temporary folder, gone when this returns, so it is named as the backup.
    const unpacked = join(opened.dir, SQLITE_FILE);
    const copyProgress = (line: string) => progress(line.split(unpacked).join(`the backup's ${SQLITE_FILE}`));
    const copy = await copyStorage({ from: opened.dir, keyDir: opened.dir, to, ...(options.force ? { force: true } : {}), onProgress: copyProgress });
    const setAside: Array<{ path: string; aside: string }> = [];
    const at = new Date();
    for (const path of foreignKeys) {
      const aside = await renameAside(path, at);
      setAside.push({ path, aside });
      progress(`renamed ${path} to ${aside} (--force: it does not open the restored vault; kept, it may open the replaced node's backups)`);
    }
    for (const path of stale) {
      await rm(path, { force: true });
      progress(`removed ${path} (--force: the replaced node's)`);
    }
    for (const [from, into] of keyFiles) {
      await copyFile(from, into);
      progress(`wrote ${into}`);
    }
    let blobs = 0;
    const blobDir = join(opened.dir, "blobs");
    if (existsSync(blobDir)) {
      const store = options.blobs ?? (await FsBlobStore.open(join(options.dataDir, "artifacts")));
      for (const sha256 of await readdir(blobDir)) {
        if (await store.has(sha256)) continue;
        await store.commit(await store.stage(createReadStream(join(blobDir, sha256))), sha256);
        blobs++;
      }
      progress(`artifact bytes: ${blobs} blobs written`);
    }
    // The copy's own notes name the unpacked folder, which is gone when this returns: these replace them.
    const notes = [
      `${PUBLIC_KEY_FILE} and audit.key were written${keyDir === options.dataDir ? "" : ` (audit.key into ${keyDir})`}; every further instance needs the same audit.key`,
      vaultNote(vault, unsealKeys, keyDir),
      ...setAside.map(
        ({ path, aside }) =>
          `--force renamed ${path}, which does not open the restored vault, to ${aside} (mode 0600): no backup carries a vault.key, so keep it with the replaced node's backups, which may open only with it`,
      ),
      ...(stale.length > 0 ? [`--force removed what the replaced node left: ${stale.join(", ")}`] : []),
      ...copy.notes.filter((note) => !note.includes(opened.dir) && !/vault opens with the same passphrase/.test(note)),
    ];
    // Said only when there are artifacts, naming where the restored node will look: an operator on a new machine may not
    // know that the default store is a folder of the data directory, and without the bytes a download fails.
    const artifacts = opened.manifest.counts.artifacts;
    if (!opened.header.withArtifacts && artifacts > 0) {
      const where = options.blobs === undefined ? `${join(options.dataDir, "artifacts")} (the default artifacts.path)` : "the blob store its config names";
      notes.push(
        `the backup holds the metadata of ${artifacts} artifact${artifacts === 1 ? "" : "s"}, not their bytes: until the old blob store's files are in ${where} ` +
          "(copy the old node's artifacts folder there, or point artifacts.path or artifacts.store s3 at the old store), their downloads fail",
      );
    }
    finished = true;
    return { header: opened.header, copy, blobs, notes };
  } finally {
    await opened.dispose();
    if (!finished) await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/**
 * Renames key file `path` aside as `<path>.replaced-<UTC time>` (`-2`, `-3`, … when that name is taken), mode 0600,
 * and answers the new name. A hard link, then the old name removed: the link fails when the name exists, so no file
 * is ever overwritten, and a crash between the two steps leaves the key under both names, never under none (hard
 * links in the key directory, as key-files.ts makes audit.key).
 */
async function renameAside(path: string, at: Date): Promise<string> {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  for (let attempt = 1; ; attempt++) {
    const aside = `${path}.replaced-${stamp}${attempt === 1 ? "" : `-${attempt}`}`;
    try {
      await link(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw error;
    }
    await chmod(aside, 0o600);
    removeKeyFile(path);
    return aside;
  }
}

/** The restored vault's header and KDF, as the backup's database holds them (`kdf` null: not one this code reads). */
interface RestoredVault {
  header: VaultHeaderRow | null;
  kdf: StoredKdf | null;
}

async function vaultOf(unpacked: string): Promise<RestoredVault> {
  const store = await openStore({ kind: "sqlite", path: join(unpacked, SQLITE_FILE), checkpointIntervalMs: 0 });
  try {
    const header = await store.vaultStore().getHeader();
    return { header, kdf: header ? parseStoredKdf(header.kdf) : null };
  } finally {
    await store.close();
  }
}

/**
 * The unseal key files already in the key directory (`vault.key`, and `vault.key.new` of an interrupted rekey), each
 * with whether it opens the restored vault: only a key-file vault's own key does (the node restored onto its own data
 * directory). Any other is another vault's, which the restored node would report as wrong at every start.
 */
function unsealKeysIn(keyDir: string, vault: RestoredVault): Array<{ path: string; opens: boolean }> {
  const found: Array<{ path: string; opens: boolean }> = [];
  for (const path of [pendingVaultKeyPath(keyDir), vaultKeyPath(keyDir)]) {
    if (!existsSync(path)) continue;
    let key: Buffer | null = null;
    try {
      key = readKeyFile(path);
    } catch {
      // Not a 32-byte key: it opens nothing.
    }
    let opens = false;
    if (key && vault.header && vault.kdf?.name === "key-file") {
      const opened = openHeader(vault.header, vault.kdf, key);
      opens = "keyring" in opened;
      if ("keyring" in opened) opened.keyring.destroy();
    }
    key?.fill(0);
    found.push({ path, opens });
  }
  return found;
}

/** How the restored vault is opened: its passphrase, or the key file of its node (which no backup carries). */
function vaultNote(vault: RestoredVault, unsealKeys: Array<{ path: string; opens: boolean }>, keyDir: string): string {
  if (vault.kdf?.name !== "key-file") {
    return "the vault is sealed as it was: start the node with the same vault passphrase as before (KAI_VAULT_PASSPHRASE, or kai vault unlock)";
  }
  const present = unsealKeys.find((key) => key.opens);
  if (present) return `the vault opens with ${present.path}, already there (the development default's key file): start the node as before`;
  return (
    `the vault opens with the key file of the node the backup was taken from (vault.key, the development default), not a passphrase, and no backup carries it: ` +
    `copy that node's vault.key into ${vaultKeyPath(keyDir)} (mode 0600) before starting the node; without it the vault stays locked and no admin token can be minted`
  );
}
