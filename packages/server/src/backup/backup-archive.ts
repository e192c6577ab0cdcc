/**
 * @module backup/backup-archive
 * The archive inside a backup: a gzipped tar of one folder (`kai.db`, `node-key.pub.pem`, `audit.key`,
 * `blobs/<sha256>`, `manifest.json`), and the manifest's file list, every file with its size and SHA-256.
 * Unpacking takes plain files and folders only (no links, devices or absolute paths: tar's own guards, plus a
 * filter), and a backup is only unpacked after it authenticated (backup-envelope.ts); the hashes are then checked
 * against the manifest (`checkFiles`), which also refuses a file the manifest does not name.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { create, extract } from "tar";
import type { BackupManifest } from "@kai/protocol";
import { ApiError } from "../errors.js";

export const MANIFEST_FILE = "manifest.json";

export type FileEntry = BackupManifest["files"][number];

/** The folder as a gzipped tar stream (paths relative to it, no owners or times of this machine). */
export async function packFolder(dir: string): Promise<Readable> {
  const entries = (await readdir(dir)).sort();
  return create({ gzip: true, cwd: dir, portable: true, noMtime: true }, entries) as unknown as Readable;
}

/** Unpacks a gzipped tar (`file`) into `dir`: plain files and folders only. */
export async function unpackArchive(file: string, dir: string): Promise<void> {
  let refused: string | null = null;
  try {
    await extract({
      file,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter: (path, entry) => {
        const type = "type" in entry ? entry.type : undefined;
        const ok = type === "File" || type === "Directory" || type === "OldFile";
        if (!ok) refused ??= path;
        return ok;
      },
    });
  } catch (error) {
    throw new ApiError("backup_corrupt", `the archive inside the backup cannot be unpacked: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (refused !== null) throw new ApiError("backup_corrupt", `the archive inside the backup holds ${refused}, which is not a plain file`);
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Every file under `dir` but the manifest, sorted by path, with size and SHA-256. */
export async function listFiles(dir: string): Promise<FileEntry[]> {
  const files: FileEntry[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const name = relative(dir, path).split(sep).join("/");
        if (name === MANIFEST_FILE) continue;
        files.push({ path: name, bytes: (await stat(path)).size, sha256: await sha256Of(path) });
      }
    }
  };
  await walk(dir);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Throws `backup_corrupt` unless `dir` holds exactly the manifest's files with their hashes. */
export async function checkFiles(dir: string, manifest: BackupManifest): Promise<void> {
  const found = new Map((await listFiles(dir)).map((file) => [file.path, file]));
  for (const expected of manifest.files) {
    const file = found.get(expected.path);
    if (!file) throw new ApiError("backup_corrupt", `the backup lacks ${expected.path}, which its manifest names`);
    if (file.sha256 !== expected.sha256 || file.bytes !== expected.bytes) {
      throw new ApiError("backup_corrupt", `${expected.path} in the backup does not match its manifest's SHA-256`);
    }
    found.delete(expected.path);
  }
  const extra = [...found.keys()][0];
  if (extra !== undefined) throw new ApiError("backup_corrupt", `the backup holds ${extra}, which its manifest does not name`);
}
