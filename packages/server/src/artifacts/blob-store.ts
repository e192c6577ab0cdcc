/**
 * @module artifacts/blob-store
 * Where artifacts' bytes live, behind one interface (issue 17): the filesystem under the data dir by default
 * (fs-blob-store.ts), or any S3-compatible object store (s3-blob-store.ts); encryption at rest wraps either
 * (encrypting-blob-store.ts). A blob is addressed by the lower-case hex SHA-256 of its
 * raw bytes and never changes once stored. Writing is two steps so that a half-received upload is never visible:
 * `stage` takes the bytes under a private name, `commit` makes them the blob of their digest (or drops them when the
 * blob is already there: identical bytes are stored once). Whether a blob is still referenced is the metadata
 * store's decision (storage/contracts/artifact-store.ts), never the blob store's. Every backend passes the contract
 * suite (test/artifacts/blob-store-contract.ts).
 *
 * What a crash leaves behind (staged bytes never committed or discarded, blobs no artifact names any more) is found
 * through `list` and `sweepStaged` by the garbage collection (blob-sweep.ts), which alone decides what to remove.
 */
import type { Readable } from "node:stream";

/** Bytes taken by `stage`, not yet a blob. */
export interface StagedBlob {
  /** The backend's private handle (a temporary file, an object key). */
  readonly ref: string;
}

/** A committed blob as the store lists it. */
export interface StoredBlob {
  sha256: string;
  /** Bytes the store keeps (for an encrypted blob: its ciphertext, header included). */
  size: number;
  /** When the blob was last written (a commit); the garbage collection's grace counts from here. */
  modifiedAt: Date;
}

/** An inclusive byte range, as HTTP Range gives it. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStore {
  /** A short name for logs and the status page (`filesystem`, `s3`). */
  readonly kind: string;
  /**
   * Takes every byte of `source` under a private name. The caller hashes and limits the stream (a failure of the
   * source, e.g. a size limit, rejects this and leaves nothing behind).
   */
  stage(source: Readable): Promise<StagedBlob>;
  /**
   * Makes the staged bytes the blob `sha256` (atomically: a reader sees the whole blob or none). When that blob
   * exists already the staged bytes are dropped and `existed` is true. `encrypted`: whether the stored blob is
   * encrypted at rest (encrypting-blob-store.ts; absent: it is not).
   */
  commit(staged: StagedBlob, sha256: string): Promise<{ existed: boolean; encrypted?: boolean }>;
  /** Drops staged bytes that will not be committed (idempotent). */
  discard(staged: StagedBlob): Promise<void>;
  /** The blob's bytes (a range of them when given), or null when there is no such blob. */
  read(sha256: string, range?: ByteRange): Promise<Readable | null>;
  has(sha256: string): Promise<boolean>;
  /** Removes the blob (idempotent: a missing blob is not an error). */
  remove(sha256: string): Promise<void>;
  /**
   * Every committed blob, in no particular order, read a page at a time (never the whole listing in memory). Blobs
   * committed or removed while the listing runs may or may not appear; staged bytes never do.
   */
  list(): AsyncIterable<StoredBlob>;
  /**
   * Removes staged bytes last written before `olderThan` (an upload whose process died between `stage` and
   * `commit`/`discard`); newer ones may be an upload in progress, on this instance or another, and stay. `dryRun`:
   * only counts them.
   */
  sweepStaged(olderThan: Date, options?: { dryRun?: boolean }): Promise<{ removed: number; bytes: number }>;
}
