/**
 * Plugin packages for the lifecycle tests: a real folder packed with `tar` (as `kai plugin install FOLDER` does), and
 * hand-made tar archives whose headers say anything (links, `..`, absolute paths), which no well-behaved packer writes.
 */
import { readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { create, Header, type HeaderData } from "tar";

/** `folder` packed as a .tar.gz, its files at the root (portable: no owners, no mtimes). */
export async function packFolder(folder: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const stream = create({ gzip: true, cwd: folder, portable: true, noMtime: true }, readdirSync(folder).sort());
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export interface RawEntry extends HeaderData {
  body?: string | Buffer;
}

/** A tar archive from raw headers (then gzip-compressed unless `gzip: false`). */
export function rawTar(entries: RawEntry[], options: { gzip?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const { body, ...data } of entries) {
    const content = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
    const header = new Header({ mode: 0o644, mtime: new Date(0), type: "File", size: content.length, ...data });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return options.gzip === false ? tar : gzipSync(tar);
}

/** A minimal valid plugin.yaml. */
export function manifestText(id: string, version: string, extra = ""): string {
  return `id: ${id}\nname: ${id}\nentrypoint: main.js\nversion: ${version}\nnode_api: ^1.0.0\n${extra}`;
}
