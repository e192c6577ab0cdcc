/**
 * @module artifacts/blob-sweep
 * The garbage collection of the blob store (`artifacts.gc`, docs/data/artifacts.md "Garbage collection"). Two kinds of
 * leftovers are never removed by the requests themselves:
 * - staged bytes of an upload whose process died between `stage` and `commit`/`discard`;
 * - committed blobs no artifact names: a crash between the blob's commit and the artifact's row, or between the
 *   last artifact's delete and the blob's removal.
 * A sweep removes both once they are older than the grace (`artifacts.gc.graceHours`, default 24 h). The grace is what
 * makes it safe beside uploads in flight: an upload stages and commits its blob before it writes the artifact's row,
 * so a young blob without a row may be one a moment from being named; it is never touched.
 *
 * Which blobs are in use is the metadata's decision (storage/contracts/artifact-store.ts), read only through the
 * artifact store contract, so it is the same on every storage backend. A blob is in use when an artifact names it, or
 * when it is the kept thumbnail of such a blob (previews/thumbnail-cache.ts: a derived blob whose key is made from
 * its source's digest, so it is found by walking the referenced digests, never by reading blobs). The blobs past the
 * grace are taken a batch at a time; for each batch the referenced digests are walked once (a page at a time), and
 * what is left is re-checked, each under the artifact service's lock of its digest, right before it is removed:
 * an upload of the same bytes on this instance (whose commit and row take that lock too) either recorded its artifact
 * before the re-check (the blob stays) or commits after the removal (its bytes are stored again). An upload on
 * another instance of the same bytes as an old orphan, landing exactly between the re-check and the removal, is not
 * covered by the lock; it is looked for after each removal and logged, so that it is not silent.
 * Losing a thumbnail by a race is harmless: it is made again on the next request.
 */
import type { ArtifactGcResult } from "@kai/protocol";
import type { ArtifactStore } from "../storage/contracts/artifact-store.js";
import type { BlobStore } from "./blob-store.js";
import type { KeyLock } from "./key-lock.js";
import { thumbnailKey } from "./previews/thumbnail-cache.js";

/** What one sweep did (the protocol's shape, also the answer of `POST /api/artifacts/gc`). */
export type BlobSweepResult = ArtifactGcResult;

export interface BlobSweepRun {
  /** Stop early (this instance stopped leading); what was done so far is counted. */
  signal?: AbortSignal | undefined;
  /** Count what would be removed, remove nothing. */
  dryRun?: boolean | undefined;
}

export interface BlobSweepOptions {
  store: Pick<ArtifactStore, "blobReferences" | "listBlobDigests">;
  /** The artifact service's blob store (the encrypting wrapper delegates listing and sweeping to its backend). */
  blobs: BlobStore;
  /** The artifact service's per-digest lock (its upload's commit and row, its delete's row and removal). */
  locks: KeyLock;
  /** Nothing younger than this is removed, ms. */
  graceMs: number;
  now?: () => number;
  /** Blobs past the grace settled per walk of the referenced digests (bounds the memory a sweep holds). */
  batchSize?: number;
  /** Referenced digests read per page. */
  pageSize?: number;
  logger?: { warn(obj: object, msg?: string): void };
}

const DEFAULT_BATCH = 50_000;
const DEFAULT_PAGE = 1000;

export class BlobSweep {
  private readonly now: () => number;
  private readonly batchSize: number;
  private readonly pageSize: number;

  constructor(private readonly options: BlobSweepOptions) {
    this.now = options.now ?? Date.now;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH;
    this.pageSize = options.pageSize ?? DEFAULT_PAGE;
  }

  /** Hours within which nothing is removed. */
  get graceHours(): number {
    return this.options.graceMs / 3_600_000;
  }

  /** One sweep. */
  async run(options: BlobSweepRun = {}): Promise<BlobSweepResult> {
    const { signal } = options;
    const dryRun = options.dryRun === true;
    const cutoff = new Date(this.now() - this.options.graceMs);
    const result: BlobSweepResult = { stagedRemoved: 0, orphansRemoved: 0, bytesFreed: 0, kept: 0 };
    const staged = await this.options.blobs.sweepStaged(cutoff, { dryRun });
    result.stagedRemoved = staged.removed;
    result.bytesFreed += staged.bytes;
    // Digest → size of the blobs past the grace not yet settled.
    const batch = new Map<string, number>();
    for await (const blob of this.options.blobs.list()) {
      if (signal?.aborted) return result;
      if (blob.modifiedAt.getTime() >= cutoff.getTime()) {
        result.kept += 1;
        continue;
      }
      batch.set(blob.sha256, blob.size);
      if (batch.size >= this.batchSize) await this.settle(batch, result, signal, dryRun);
    }
    await this.settle(batch, result, signal, dryRun);
    return result;
  }

  /** Keeps what is in use, removes the rest; empties `batch`. */
  private async settle(batch: Map<string, number>, result: BlobSweepResult, signal: AbortSignal | undefined, dryRun: boolean): Promise<void> {
    let after: string | null = null;
    while (batch.size > 0) {
      if (signal?.aborted) return;
      const page = await this.options.store.listBlobDigests(after, this.pageSize);
      for (const digest of page) {
        if (batch.delete(digest)) result.kept += 1;
        if (batch.delete(thumbnailKey(digest))) result.kept += 1;
      }
      if (page.length < this.pageSize) break;
      after = page[page.length - 1]!;
    }
    for (const [sha256, size] of batch) {
      if (signal?.aborted) return;
      const removed = await this.options.locks.run(sha256, async () => {
        // Re-checked now: an artifact recorded since the walk keeps its blob.
        if ((await this.options.store.blobReferences(sha256)) > 0) return false;
        if (!dryRun) await this.options.blobs.remove(sha256);
        return true;
      });
      if (!removed) {
        result.kept += 1;
        continue;
      }
      result.orphansRemoved += 1;
      result.bytesFreed += size;
      if (dryRun) continue;
      // Only an upload on another instance could have named it in between (see the module header).
      if ((await this.options.store.blobReferences(sha256).catch(() => 0)) > 0) {
        this.options.logger?.warn({ sha256 }, "an artifact was recorded for a blob the garbage collection removed at the same moment; its bytes must be uploaded again");
      }
    }
    batch.clear();
  }
}
