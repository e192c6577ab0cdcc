/**
 * @module download-file
 * Writes a download (a response body) to a file, or to stdout for `-`: the file is created, never an existing one
 * replaced (an earlier download, another backup), and a transfer that breaks half-way leaves no half-written file
 * that could pass for the whole. Used by `kai artifact download` and `kai backup download`.
 */
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { usageError } from "./cli-error.js";

/** Streams `body` into `output` (`-`: stdout), created with `mode`. */
export async function writeDownload(body: ReadableStream<Uint8Array>, output: string, mode = 0o644): Promise<void> {
  const toStdout = output === "-";
  const sink: Writable = toStdout ? process.stdout : createWriteStream(output, { flags: "wx", mode });
  try {
    await pipeline(Readable.fromWeb(body as Parameters<typeof Readable.fromWeb>[0]), sink);
  } catch (error) {
    // "wx" refused someone else's file: it is left as it was.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") throw usageError(`${output} exists already: give another --output, or remove it`);
    if (!toStdout) await rm(output, { force: true });
    throw error;
  }
}
