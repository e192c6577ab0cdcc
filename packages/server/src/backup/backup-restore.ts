/**
 * @module backup/backup-restore
 * `kai backup restore`: a backup onto an empty node, offline (the node stopped). The backup is opened and checked
 * (backup-open.ts), then copied into the target backend with `kai storage copy`'s steps (storage/copy/), which
 * refuse a target that is not empty unless `force`, and verify the result kind by kind. The target is the node's
 * SQLite database (`<dataDir>/kai.db`) or any backend `openStore` takes, PostgreSQL included. Then the files a node
 * keeps beside its database: the public key into the data directory, `audit.key` into the key directory, and the
 * artifacts' bytes (when the backup has them) into the blob store.
 *
 * The vault comes back as it was: sealed, its ciphertext unchanged, opened by the same passphrase as before.
 * Why offline only: a live node holds the registry, tokens and vault in memory and in other instances; replacing
 * its database under it would serve a mix of both until restarted. Files already there are never replaced
 * silently: another node's key or audit key is refused (or replaced with `force`), and a plain private key file
 * (`node-key.pem`, another identity) is always refused.
 */
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, readdir } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import type { BackupHeader } from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { BlobStore } from "../artifacts/blob-store.js";
import { FsBlobStore } from "../artifacts/fs-blob-store.js";
import { PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from "../identity/node-key.js";
import { auditKeyPath } from "../vault/key-files.js";
import { copyStorage, type CopyReport } from "../storage/copy/copy-storage.js";
import { assertSqliteNotInUse, SQLITE_FILE } from "../storage/copy/sqlite-source.js";
import type { OpenStoreOptions } from "../storage/index.js";
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
  /** Empty a target that is not empty, and replace key files of another node. */
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
  try {
    progress(`backup ${opened.header.id} of ${opened.header.did} (${opened.header.createdAt}): ${opened.manifest.files.length} files, hashes match`);
    // Every refusal before anything is written.
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    await mkdir(keyDir, { recursive: true, mode: 0o700 });
    if (existsSync(join(options.dataDir, PRIVATE_KEY_FILE))) {
      throw new ApiError("conflict", `${join(options.dataDir, PRIVATE_KEY_FILE)} is another node key: restore into an empty data directory (or move that file away)`);
    }
    const keyFiles: Array<[string, string]> = [[join(opened.dir, PUBLIC_KEY_FILE), join(options.dataDir, PUBLIC_KEY_FILE)]];
    if (existsSync(join(opened.dir, "audit.key"))) keyFiles.push([join(opened.dir, "audit.key"), auditKeyPath(keyDir)]);
    for (const [from, into] of keyFiles) {
      if (existsSync(into) && !readFileSync(into).equals(readFileSync(from)) && !options.force) {
        throw new ApiError("conflict", `${into} belongs to another node: restore into an empty data directory, or use --force to replace it`);
      }
    }
    if (to.kind === "sqlite" && existsSync(to.path)) assertSqliteNotInUse(to.path);

    const copy = await copyStorage({ from: opened.dir, keyDir: opened.dir, to, ...(options.force ? { force: true } : {}), onProgress: progress });
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
      "the vault is sealed as it was: start the node with the same vault passphrase as before (KAI_VAULT_PASSPHRASE, or kai vault unlock)",
      ...copy.notes.filter((note) => !note.includes(opened.dir) && !/vault opens with the same passphrase/.test(note)),
    ];
    if (!opened.header.withArtifacts) notes.push("the backup holds artifact metadata only: the bytes must come from the old blob store (artifacts.path or S3)");
    return { header: opened.header, copy, blobs, notes };
  } finally {
    await opened.dispose();
  }
}
