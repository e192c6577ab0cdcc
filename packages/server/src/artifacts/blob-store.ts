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
 */
import type { Readable } from "node:stream";

/** Bytes taken by `stage`, not yet a blob. */
export interface StagedBlob {
  /** The backend's private handle (a temporary file, an object key). */
  readonly ref: string;
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
}
