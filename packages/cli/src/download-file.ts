/**
 * @module download-file
 * Writes a download (a response body) to a file, or to stdout for `-`: the file is created, never an existing one
 * replaced (an earlier download, another backup), and a transfer that breaks half-way leaves no half-written file
 * that could pass for the whole. Used by `kai artifact download` and `kai backup download`. A path that cannot be
 * written (its folder missing, a directory, no permission) is a usage error (exit 2) naming it: the user's to fix.
 */
import { createWriteStream } from "node:fs";
import { access, constants, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { usageError } from "./cli-error.js";

/** Why `output` cannot be created, in words (undefined for a refusal that is not the path's). */
function refusalOf(output: string, code: string | undefined): string | undefined {
  switch (code) {
    case "EEXIST":
      return `${output} exists already: give another --output, or remove it`;
    case "ENOENT":
      return `${output}: its folder ${dirname(resolve(output))} does not exist`;
    case "ENOTDIR":
      return `${output}: a part of its path is not a directory`;
    case "EISDIR":
      return `${output} is a directory: give a file name`;
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return `${output}: cannot write there (${code})`;
    default:
      return undefined;
  }
}

/**
 * Refuses an `output` that could not be created, before anything is asked of the node: it exists already, its folder
 * is missing or not a directory, or may not be written. `-` (stdout) always passes. `writeDownload` still creates it
 * exclusively: this is a check for a clear answer before the transfer, not a lock.
 */
export async function assertNewOutput(output: string): Promise<void> {
  if (output === "-") return;
  const folder = dirname(resolve(output));
  let why: string | undefined;
  try {
    if (!(await stat(folder)).isDirectory()) why = refusalOf(output, "ENOTDIR");
    else await access(folder, constants.W_OK);
    await stat(output).then(
      (found) => (why ??= refusalOf(output, found.isDirectory() ? "EISDIR" : "EEXIST")),
      () => undefined,
    );
  } catch (error) {
    why = refusalOf(output, (error as NodeJS.ErrnoException).code) ?? `${output}: cannot write there`;
  }
  if (why !== undefined) throw usageError(why);
}

/** Streams `body` into `output` (`-`: stdout), created with `mode`. */
export async function writeDownload(body: ReadableStream<Uint8Array>, output: string, mode = 0o644): Promise<void> {
  const toStdout = output === "-";
  const sink: Writable = toStdout ? process.stdout : createWriteStream(output, { flags: "wx", mode });
  try {
    await pipeline(Readable.fromWeb(body as Parameters<typeof Readable.fromWeb>[0]), sink);
  } catch (error) {
    const { code, path } = error as NodeJS.ErrnoException;
    // "wx" refused someone else's file: it is left as it was.
    if (code === "EEXIST") throw usageError(refusalOf(output, code)!);
    // The file could not be created at all (only an error of the output's own path: one of the transfer is not).
    const refused = !toStdout && path === output ? refusalOf(output, code) : undefined;
    if (refused !== undefined) throw usageError(refused);
    if (!toStdout) await rm(output, { force: true });
    throw error;
  }
}
