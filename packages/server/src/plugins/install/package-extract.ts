/**
 * @module plugins/install/package-extract
 * Unpacks a plugin package (a gzip-compressed tar) into an empty folder as it streams in, refusing anything a plugin
 * folder has no use for and a hostile package would need: symbolic and hard links, devices and FIFOs, absolute paths,
 * `..`, and more bytes, files, depth or size per file than the limits. We parse with `tar`'s Parser and write every
 * file ourselves (exclusive create, fixed modes, never following a link: none can exist), rather than let an unpacker
 * decide what to honour. The first refusal stops the stream; the caller deletes the folder.
 *
 * Layout (docs/plugins.md "Install, update, remove, roll back"): the package holds the plugin's files at its root
 * (`plugin.yaml` at the top), or exactly one top-level folder that holds them. Anything else (a root without
 * `plugin.yaml` and with more than one entry) is refused.
 */
import { createWriteStream } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { Transform, Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { PLUGIN_MANIFEST_FILE } from "@kai/protocol";
import { waitAtMost } from "../../wait-at-most.js";

export interface PackageLimits {
  /** Compressed bytes read from the source. */
  maxPackageBytes: number;
  /** Bytes after decompression (headers and padding included): the bound on a "zip bomb". */
  maxUnpackedBytes: number;
  maxFiles: number;
  maxDepth: number;
  maxFileBytes: number;
}

export const PACKAGE_LIMITS: PackageLimits = {
  maxPackageBytes: 50 * 1024 * 1024,
  maxUnpackedBytes: 256 * 1024 * 1024,
  maxFiles: 10_000,
  maxDepth: 32,
  maxFileBytes: 64 * 1024 * 1024,
};

/** A package refused for what it holds; `entry` names the offending path inside it, `tooLarge` a size limit passed. */
export class PackageError extends Error {
  constructor(message: string, readonly entry?: string, readonly tooLarge = false) {
    super(message);
    this.name = "PackageError";
  }
}

const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);

/** Unpacks `source` into `into` (an empty folder); answers the plugin's folder (`into`, or its one top-level folder). */
export async function extractPackage(source: Readable, into: string, limits: PackageLimits = PACKAGE_LIMITS): Promise<string> {
  let compressed = 0;
  let unpacked = 0;
  let files = 0;
  let first = true;
  let failure: Error | undefined;
  const parser = new Parser({ strict: true, maxMetaEntrySize: 64 * 1024 });
  // The parser is fed by hand: it is an event emitter with write/end, not a Node stream.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (failure) return done(failure);
      if (parser.write(chunk)) done();
      else parser.once("drain", () => done());
    },
    final(done) {
      parser.end();
      done();
    },
  });
  // Entries arrive one at a time (the parser waits for an entry's end before the next), each written by this chain.
  let work: Promise<void> = Promise.resolve();
  let current: ReadEntry | undefined;
  const fail = (error: Error): void => {
    if (failure) return;
    failure = error;
    // Everything stops: the entry being written, the parser, and the stream feeding it (which may wait for a drain).
    current?.destroy();
    sink.destroy(error);
    parser.abort(error);
  };
  parser.on("entry", (entry: ReadEntry) => {
    if (failure) {
      entry.resume();
      return;
    }
    current = entry;
    let target: { path: string; directory: boolean } | undefined;
    try {
      target = checkEntry(entry, limits);
      if (target && !target.directory) {
        files++;
        if (files > limits.maxFiles) throw new PackageError(`the package holds more than ${limits.maxFiles} files`, undefined, true);
      }
    } catch (error) {
      entry.resume();
      fail(error as Error);
      return;
    }
    if (!target) {
      entry.resume();
      return;
    }
    const { path, directory } = target;
    work = work.then(async () => {
      const destination = join(into, path);
      if (directory) {
        entry.resume();
        await mkdir(destination, { recursive: true, mode: 0o755 });
        return;
      }
      const parent = path.includes("/") ? join(into, path.slice(0, path.lastIndexOf("/"))) : into;
      await mkdir(parent, { recursive: true, mode: 0o755 });
      let size = 0;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          size += chunk.length;
          if (size > limits.maxFileBytes) return done(new PackageError(`${path} is larger than ${limits.maxFileBytes} bytes`, path, true));
          done(null, chunk);
        },
      });
      // `wx`: a path that appears twice in the package is refused, never silently overwritten.
      await pipeline(entry, count, createWriteStream(destination, { flags: "wx", mode: 0o644 })).catch((error: NodeJS.ErrnoException) => {
        if (error instanceof PackageError) throw error;
        if (error.code === "EEXIST") throw new PackageError(`${path} appears more than once in the package`, path);
        if (error.code === "ENOTDIR" || error.code === "EISDIR") throw new PackageError(`${path} is both a file and a folder in the package`, path);
        throw error;
      });
    }).catch((error: unknown) => {
      entry.resume();
      fail(error as Error);
    });
  });
  const ended = new Promise<void>((resolve) => {
    parser.on("end", resolve);
    parser.on("abort", resolve);
  });
  parser.on("warn", (_code: string, message: string | Error) => fail(new PackageError(`not a valid tar archive: ${typeof message === "string" ? message : message.message}`)));
  parser.on("error", (error: Error) => fail(error instanceof PackageError ? error : new PackageError(`not a valid tar archive: ${error.message}`)));

  const compressedCounter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (first && chunk.length > 0) {
        first = false;
        if (chunk[0] !== 0x1f || (chunk.length > 1 && chunk[1] !== 0x8b)) return done(new PackageError("the package is not gzip-compressed (a .tar.gz is expected)"));
      }
      compressed += chunk.length;
      if (compressed > limits.maxPackageBytes) return done(new PackageError(`the package is larger than ${limits.maxPackageBytes} bytes`, undefined, true));
      done(null, chunk);
    },
  });
  const unpackedCounter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      unpacked += chunk.length;
      if (unpacked > limits.maxUnpackedBytes) return done(new PackageError(`the package unpacks to more than ${limits.maxUnpackedBytes} bytes`, undefined, true));
      done(null, chunk);
    },
  });
  const settle = () => waitAtMost(work, 1000);
  try {
    // The source is piped, not part of the pipeline: a refused upload must not destroy the request it came on (the
    // route still answers on it); it is only unpiped and paused.
    source.once("error", (error) => compressedCounter.destroy(error));
    source.pipe(compressedCounter);
    await pipeline(compressedCounter, createGunzip(), unpackedCounter, sink).finally(() => {
      source.unpipe(compressedCounter);
      if (!source.readableEnded) source.pause();
    });
  } catch (error) {
    // The entry being written is destroyed with the stream; wait for its write to settle before the caller deletes the folder.
    fail(error as Error);
    await settle();
    if (failure && failure !== error) throw failure;
    if (error instanceof PackageError) throw error;
    if (compressed === 0) throw new PackageError("the package is empty");
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (code.startsWith("Z_") || code === "ERR_PADDING_1" || /incorrect header|unexpected end|invalid/i.test((error as Error).message)) {
      throw new PackageError(`the package is not a valid .tar.gz (${(error as Error).message})`);
    }
    throw error;
  }
  await ended;
  await work;
  if (failure) throw failure;
  if (compressed === 0) throw new PackageError("the package is empty");
  return pluginFolderOf(into);
}

/** The entry's path inside the package (no `./`, no trailing slash), or undefined for one that only names the root. Throws PackageError. */
function checkEntry(entry: ReadEntry, limits: PackageLimits): { path: string; directory: boolean } | undefined {
  const raw = entry.path;
  const shown = raw.slice(0, 200);
  const directory = entry.type === "Directory";
  if (!directory && !FILE_TYPES.has(entry.type)) {
    const what = entry.type === "SymbolicLink" ? "a symbolic link" : entry.type === "Link" ? "a hard link" : entry.type === "CharacterDevice" || entry.type === "BlockDevice" ? "a device" : entry.type === "FIFO" ? "a FIFO" : `an entry of type ${entry.type}`;
    throw new PackageError(`${shown} is ${what}; a plugin package may hold only files and folders`, shown);
  }
  // eslint-disable-next-line no-control-regex
  if (raw.length > 1024 || raw.includes("\\") || /[\u0000-\u001f\u007f]/.test(raw)) throw new PackageError(`${JSON.stringify(shown)} is not a path a plugin package may hold`, shown);
  if (raw.startsWith("/") || /^[A-Za-z]:/.test(raw)) throw new PackageError(`${shown} is an absolute path`, shown);
  const parts = raw.split("/").filter((part, index, all) => !(part === "." || (part === "" && index === all.length - 1)));
  if (parts.includes("..")) throw new PackageError(`${shown} leaves the package (..)`, shown);
  if (parts.some((part) => part === "" || part.length > 255)) throw new PackageError(`${shown} is not a path a plugin package may hold`, shown);
  if (parts.length === 0) {
    if (directory) return undefined;
    throw new PackageError(`${shown} is not a path a plugin package may hold`, shown);
  }
  if (parts.length > limits.maxDepth) throw new PackageError(`${shown} is nested deeper than ${limits.maxDepth} folders`, shown);
  if (!directory && entry.size > limits.maxFileBytes) throw new PackageError(`${shown} is larger than ${limits.maxFileBytes} bytes`, shown, true);
  return { path: parts.join("/"), directory };
}

/** The plugin folder of an unpacked package: the root when it holds `plugin.yaml`, else its only entry when that is a folder. */
async function pluginFolderOf(root: string): Promise<string> {
  const names = await readdir(root);
  if (names.includes(PLUGIN_MANIFEST_FILE)) return root;
  const only = names[0];
  if (names.length === 1 && only !== undefined && (await stat(join(root, only))).isDirectory()) {
    const inner = join(root, only);
    if ((await readdir(inner)).includes(PLUGIN_MANIFEST_FILE)) return inner;
    throw new PackageError(`${only}/${PLUGIN_MANIFEST_FILE} is missing: the package's one top-level folder must hold the plugin's manifest`, `${only}/${PLUGIN_MANIFEST_FILE}`);
  }
  if (names.length === 0) throw new PackageError(`the package holds no files (${PLUGIN_MANIFEST_FILE} is missing)`, PLUGIN_MANIFEST_FILE);
  throw new PackageError(`${PLUGIN_MANIFEST_FILE} is missing: a package holds the plugin's files at its root, or in exactly one top-level folder`, PLUGIN_MANIFEST_FILE);
}
