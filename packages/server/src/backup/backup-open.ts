/**
 * @module backup/backup-open
 * Opening a backup file for `verify` and `restore`: decrypt it into a private temporary folder (backup-envelope.ts),
 * unpack the archive, parse the manifest, and check that it belongs to the header (same id and DID) and that every
 * file matches its SHA-256 (backup-archive.ts). Nothing of a backup is used before all of that passed. The caller
 * removes the folder with `dispose` (the folder holds the vault's ciphertext and the audit key: mode 0700).
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BackupManifestSchema, parseJson, type BackupHeader, type BackupManifest } from "@kai/protocol";
import { ApiError } from "../errors.js";
import { checkFiles, MANIFEST_FILE, unpackArchive } from "./backup-archive.js";
import { decryptBackup } from "./backup-envelope.js";

export interface OpenedBackup {
  header: BackupHeader;
  manifest: BackupManifest;
  /** The unpacked folder: a node's data directory as `kai storage copy` reads one. */
  dir: string;
  /** A scratch folder beside it, for the caller's own use (verify's scratch restore). */
  scratch: string;
  dispose(): Promise<void>;
}

export async function openBackup(file: string, passphrase: string, workDir: string = tmpdir()): Promise<OpenedBackup> {
  const root = await mkdtemp(join(workDir, ".kai-backup-open-"));
  const dispose = () => rm(root, { recursive: true, force: true });
  try {
    const payload = join(root, "payload.tar.gz");
    const header = await decryptBackup(file, passphrase, payload);
    const dir = join(root, "data");
    await mkdir(dir, { mode: 0o700 });
    await unpackArchive(payload, dir);
    await rm(payload, { force: true });
    const text = await readFile(join(dir, MANIFEST_FILE), "utf8").catch(() => {
      throw new ApiError("backup_corrupt", `the backup ${header.id} has no ${MANIFEST_FILE}`);
    });
    const json = parseJson(text);
    const parsed = json.ok ? BackupManifestSchema.safeParse(json.value) : null;
    if (!parsed?.success) throw new ApiError("backup_corrupt", `the manifest of the backup ${header.id} is not a backup manifest`);
    const manifest = parsed.data;
    if (manifest.id !== header.id || manifest.did !== header.did) throw new ApiError("backup_corrupt", `the manifest of the backup ${header.id} belongs to another backup`);
    await checkFiles(dir, manifest);
    const scratch = join(root, "scratch");
    await mkdir(scratch, { mode: 0o700 });
    return { header, manifest, dir, scratch, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}
