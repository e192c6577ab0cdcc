/**
 * @module plugins/plugin-files
 * The files of a plugin folder and their SHA-256, as signing and verifying see them: every regular file under the
 * folder (relative, forward slashes), except the signature file itself. Symbolic links and other special files are
 * refused rather than followed: a link could make a signed folder run bytes the signature never covered. The walk is
 * bounded (files, depth, bytes) so a hostile or mistaken folder cannot stall the node's start.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { PLUGIN_SIGNATURE_FILE } from "@kai/protocol";

export const PLUGIN_FILE_LIMITS = { maxFiles: 10_000, maxDepth: 32, maxBytes: 512 * 1024 * 1024 } as const;

/** A folder that cannot be hashed as a whole; `file` names the offending entry (relative) when there is one. */
export class PluginFilesError extends Error {
  constructor(message: string, readonly file?: string) {
    super(message);
    this.name = "PluginFilesError";
  }
}

export interface PluginFileLimits {
  maxFiles: number;
  maxDepth: number;
  maxBytes: number;
}

/** Every regular file's relative path under `root` (sorted), without the signature file. Throws PluginFilesError. */
export async function listPluginFiles(root: string, limits: PluginFileLimits = PLUGIN_FILE_LIMITS): Promise<{ files: string[]; bytes: number }> {
  const files: string[] = [];
  let bytes = 0;
  const walk = async (relative: string, depth: number): Promise<void> => {
    if (depth > limits.maxDepth) throw new PluginFilesError(`folders nested deeper than ${limits.maxDepth}`, relative);
    const entries = await readdir(relative === "" ? root : join(root, relative), { withFileTypes: true });
    for (const entry of entries) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(path, depth + 1);
      } else if (entry.isFile()) {
        if (path === PLUGIN_SIGNATURE_FILE) continue;
        files.push(path);
        if (files.length > limits.maxFiles) throw new PluginFilesError(`more than ${limits.maxFiles} files`);
        bytes += (await lstat(join(root, path))).size;
        if (bytes > limits.maxBytes) throw new PluginFilesError(`more than ${limits.maxBytes} bytes`, path);
      } else {
        throw new PluginFilesError(entry.isSymbolicLink() ? "symbolic links are not allowed in a plugin folder" : "only regular files and folders are allowed in a plugin folder", path);
      }
    }
  };
  await walk("", 0);
  // Code-unit order: the same on every platform and locale, like JCS's key order.
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { files, bytes };
}

/** Hex SHA-256 of one file, streamed. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/** `{ relative path: hex SHA-256 }` of every file in the folder (see listPluginFiles). */
export async function hashPluginFiles(root: string, limits: PluginFileLimits = PLUGIN_FILE_LIMITS): Promise<Record<string, string>> {
  const { files } = await listPluginFiles(root, limits);
  const hashes: Record<string, string> = {};
  for (const file of files) hashes[file] = await hashFile(join(root, file));
  return hashes;
}
