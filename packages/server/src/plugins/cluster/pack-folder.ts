/**
 * @module plugins/cluster/pack-folder
 * A plugin folder as a package (.tar.gz, its files at the root: the layout package-extract.ts reads), so the other
 * instances of a node can get the exact folder one instance put in place, whatever it came from (an upload, an
 * update's download, a kept version rolled back). Packed from staging, before the folder goes live and before its
 * process ever runs, so what is shared is what was checked. Portable (no owners, no times): only names and bytes
 * travel, and the receiving instance writes every file itself with fixed modes. The size is capped while packing.
 */
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { create } from "tar";

export class PackTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the plugin folder packs to more than ${limit} bytes`);
    this.name = "PackTooLargeError";
  }
}

/** The folder as a .tar.gz and its hex SHA-256. Throws PackTooLargeError past `maxBytes`. */
export async function packFolder(folder: string, maxBytes: number): Promise<{ bytes: Buffer; sha256: string }> {
  const names = (await readdir(folder)).sort();
  const stream = create({ gzip: true, cwd: folder, portable: true, noMtime: true, follow: false }, names);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new PackTooLargeError(maxBytes);
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  return { bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
}
