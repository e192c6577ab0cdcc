/**
 * @module artifacts/fs-blob-store
 * The default blob store: files under a directory (`artifacts.path`, default `<dataDir>/artifacts`). A blob is
 * `blobs/<first two hex digits>/<sha256>` (two-level fan-out keeps directories small). Bytes are staged in
 * `staging/` on the same filesystem, flushed to disk, then renamed into place and the directory flushed: a rename is
 * atomic, so a reader never sees part of a blob, and a crash leaves at worst a staging file (swept at the next
 * start, and by the garbage collection: blob-sweep.ts), never a torn blob. A file's mtime is its age for the sweep:
 * a staging file's grows with every write of an upload in progress, a blob's is its commit.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobStore, ByteRange, StagedBlob, StoredBlob } from "./blob-store.js";

const DIGEST = /^[0-9a-f]{64}$/;
const STAGED = /^[0-9a-f]{32}\.part$/;
const FAN_OUT = /^[0-9a-f]{2}$/;
/** A staging file untouched this long belongs to no upload in progress. */
const STALE_STAGING_MS = 24 * 3600 * 1000;

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException | null)?.code === "ENOENT";

export class FsBlobStore implements BlobStore {
  readonly kind = "filesystem";
  private readonly blobs: string;
  private readonly staging: string;

  private constructor(root: string) {
    this.blobs = join(root, "blobs");
    this.staging = join(root, "staging");
  }

  /**
   * Opens (creating) the store under `root`, dropping staging files a crashed process left behind: only those older
   * than a day, since another instance sharing the directory may be receiving an upload right now.
   */
  static async open(root: string): Promise<FsBlobStore> {
    const store = new FsBlobStore(root);
    await mkdir(store.blobs, { recursive: true, mode: 0o700 });
    await mkdir(store.staging, { recursive: true, mode: 0o700 });
    await store.sweepStaged(new Date(Date.now() - STALE_STAGING_MS));
    return store;
  }

  async stage(source: Readable): Promise<StagedBlob> {
    const ref = `${randomBytes(16).toString("hex")}.part`;
    const path = join(this.staging, ref);
    // `flush`: fsync before close, so the file is durable before it is renamed into place (a blob that exists is a
    // whole blob, even after a power cut).
    const file = createWriteStream(path, { flags: "wx", mode: 0o600, flush: true, highWaterMark: 1024 * 1024 });
    try {
      await pipeline(source, file);
    } catch (error) {
      // A source that fails at once can fail while the file is still being opened: the open would then create it
      // after an unlink made now (measured: 30 of 2,000 such stages left their file behind). Unlinked once closed.
      if (!file.closed) await new Promise<void>((resolve) => file.once("close", () => resolve()));
      await unlink(path).catch(() => undefined);
      throw error;
    }
    return { ref };
  }

  async commit(staged: StagedBlob, sha256: string): Promise<{ existed: boolean }> {
    const from = this.stagedPath(staged);
    const { dir, path } = this.pathOf(sha256);
    if (await this.exists(path)) {
      await unlink(from).catch(() => undefined);
      return { existed: true };
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await rename(from, path);
    await syncDirectory(dir);
    return { existed: false };
  }

  async discard(staged: StagedBlob): Promise<void> {
    await unlink(this.stagedPath(staged)).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable | null> {
    let handle;
    try {
      handle = await open(this.pathOf(sha256).path, "r");
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    return handle.createReadStream({ ...(range ? { start: range.start, end: range.end } : {}), highWaterMark: 1024 * 1024 });
  }

  async has(sha256: string): Promise<boolean> {
    return this.exists(this.pathOf(sha256).path);
  }

  async remove(sha256: string): Promise<void> {
    await unlink(this.pathOf(sha256).path).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
  }

  async *list(): AsyncIterable<StoredBlob> {
    // One fan-out directory at a time: at most 1/256 of the names is in memory at once.
    for (const dir of (await readdir(this.blobs)).filter((name) => FAN_OUT.test(name))) {
      const names = await readdir(join(this.blobs, dir)).catch((error: unknown) => {
        if (isMissing(error)) return [];
        throw error;
      });
      for (const name of names) {
        // Only a blob's own name in its own fan-out directory is a blob (anything else was not put there by this store).
        if (!DIGEST.test(name) || !name.startsWith(dir)) continue;
        const info = await stat(join(this.blobs, dir, name)).catch((error: unknown) => {
          if (isMissing(error)) return null; // removed since the directory was read
          throw error;
        });
        if (info?.isFile()) yield { sha256: name, size: info.size, modifiedAt: info.mtime };
      }
    }
  }

  async sweepStaged(olderThan: Date, options: { dryRun?: boolean } = {}): Promise<{ removed: number; bytes: number }> {
    let removed = 0;
    let bytes = 0;
    for (const name of await readdir(this.staging)) {
      const path = join(this.staging, name);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile() || info.mtimeMs >= olderThan.getTime()) continue;
      if (options.dryRun !== true) await rm(path, { force: true });
      removed += 1;
      bytes += info.size;
    }
    return { removed, bytes };
  }

  /** Staging files present now (the contract suite checks that failures leave none). */
  async stagedCount(): Promise<number> {
    return (await readdir(this.staging)).length;
  }

  private pathOf(sha256: string): { dir: string; path: string } {
    // The digest is the only part of a path that comes from outside: it must be exactly 64 hex digits.
    if (!DIGEST.test(sha256)) throw new Error("a blob address must be a lower-case hex SHA-256");
    const dir = join(this.blobs, sha256.slice(0, 2));
    return { dir, path: join(dir, sha256) };
  }

  private stagedPath(staged: StagedBlob): string {
    if (!STAGED.test(staged.ref)) throw new Error("not a staged blob of this store");
    return join(this.staging, staged.ref);
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }
}

/** Flushes a directory's entries (the rename of a new blob) to disk. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
