/**
 * @module artifacts/s3-blob-store
 * The blob store on any S3-compatible object store (`artifacts.store: s3`, docs/data/artifacts.md), through the
 * official AWS SDK. Keys under `artifacts.s3.prefix`: a blob is `blobs/<first two hex digits>/<sha256>`, staged bytes
 * `staging/<32 random hex digits>`. The same two steps as on disk (blob-store.ts):
 * - `stage` streams the bytes with lib-storage's `Upload` (one PUT for a small body, a multipart upload above
 *   `partSizeBytes`): at most `partSizeBytes × (queueSize + 1)` bytes are in memory at once, never the whole upload.
 *   A failed source aborts the upload (its parts are dropped), so nothing is left under `staging/`.
 * - `commit` copies the staged object to its digest's key (S3 makes an object visible whole or not at all, so a
 *   reader never sees part of a blob) and deletes the staged one; when the blob exists already the copy is skipped.
 *   Commits of one digest take turns in the process (the later ones find the blob and skip the copy); uploads of the
 *   same bytes racing on two instances may both copy: the same bytes overwrite the same bytes, harmless on S3.
 * CopyObject takes at most 5 GiB, so the configuration refuses an `artifacts.maxBytes` above that with this store.
 * Stale staged objects (a process killed between stage and commit) are removed by the garbage collection
 * (blob-sweep.ts: `sweepStaged`, a listing of `staging/` a page at a time); the store does not list the bucket at
 * start. A multipart upload cut off mid-way is not an object and is not listed: a bucket lifecycle rule
 * (AbortIncompleteMultipartUpload, docs/data/artifacts.md) drops its parts.
 *
 * Errors: every SDK failure becomes `artifact_store_unavailable` (503) with the operation and the S3 error's name
 * only: an SDK error carries request details (the access key id among them, for some), which must reach neither a
 * response nor a log. The credentials themselves are only ever handed to the SDK.
 */
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { ApiError } from "../errors.js";
import type { BlobStore, ByteRange, StagedBlob, StoredBlob } from "./blob-store.js";
import { KeyLock } from "./key-lock.js";
import { isMissingObject, s3ClientFor, s3ErrorWords, type S3Connection } from "../storage/s3-connection.js";

/** S3's largest single CopyObject (a larger blob needs a multipart copy, which this store does not do). */
export const S3_COPY_LIMIT_BYTES = 5 * 1024 ** 3;

const DIGEST = /^[0-9a-f]{64}$/;
const STAGED = /^[0-9a-f]{32}$/;

export interface S3BlobStoreOptions extends S3Connection {
  bucket: string;
  /** Prepended to every key (`kai/`); empty for the bucket's root. */
  prefix: string;
  /** Multipart part size (S3's minimum is 5 MiB) and parts uploaded at once. */
  partSizeBytes: number;
  queueSize: number;
  /** Keys per listing request (S3's maximum and default: 1000); tests make it small to exercise the pagination. */
  listPageSize?: number;
}

function unavailable(operation: string, error: unknown): ApiError {
  return new ApiError("artifact_store_unavailable", `the s3 blob store failed to ${operation} (${s3ErrorWords(error)})`);
}

export class S3BlobStore implements BlobStore {
  readonly kind = "s3";
  private readonly client: S3Client;
  private readonly commits = new KeyLock();

  constructor(private readonly options: S3BlobStoreOptions) {
    this.client = s3ClientFor(options, "artifacts.s3");
  }

  async stage(source: Readable): Promise<StagedBlob> {
    const ref = randomBytes(16).toString("hex");
    // The source's own error is what the caller must see (a size limit, a client gone): lib-storage may report it
    // wrapped, or as an abort, so it is kept here and rethrown as it was.
    let sourceError: unknown;
    source.once("error", (error) => {
      sourceError = error;
    });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.options.bucket, Key: this.stagingKey(ref), Body: source, ContentType: "application/octet-stream" },
      partSize: this.options.partSizeBytes,
      queueSize: this.options.queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      await upload.abort().catch(() => undefined);
      // A single-PUT upload whose source failed after the PUT began may still have landed: remove it.
      await this.deleteKey(this.stagingKey(ref)).catch(() => undefined);
      if (sourceError !== undefined) throw sourceError;
      throw unavailable("store an upload", error);
    }
    if (sourceError !== undefined) {
      await this.deleteKey(this.stagingKey(ref)).catch(() => undefined);
      throw sourceError;
    }
    return { ref };
  }

  async commit(staged: StagedBlob, sha256: string): Promise<{ existed: boolean }> {
    const from = this.stagingKey(this.stagedRef(staged));
    const to = this.blobKey(sha256);
    return this.commits.run(sha256, () => this.copyInPlace(from, to));
  }

  private async copyInPlace(from: string, to: string): Promise<{ existed: boolean }> {
    if (await this.exists(to)) {
      await this.deleteKey(from).catch(() => undefined);
      return { existed: true };
    }
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: this.options.bucket, Key: to, CopySource: `${this.options.bucket}/${encodeKey(from)}` }));
    } catch (error) {
      throw unavailable("commit an upload", error);
    }
    await this.deleteKey(from).catch(() => undefined);
    return { existed: false };
  }

  async discard(staged: StagedBlob): Promise<void> {
    try {
      await this.deleteKey(this.stagingKey(this.stagedRef(staged)));
    } catch (error) {
      throw unavailable("discard an upload", error);
    }
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable | null> {
    const key = this.blobKey(sha256);
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
      // In Node the body is an http.IncomingMessage (a Readable); anything else would be an SDK change worth failing on.
      const body = answer.Body as Readable | undefined;
      if (!body || typeof body.pipe !== "function") throw new Error("the S3 SDK returned no readable body");
      return body;
    } catch (error) {
      if (isMissingObject(error)) return null;
      throw unavailable("read a blob", error);
    }
  }

  async has(sha256: string): Promise<boolean> {
    return this.exists(this.blobKey(sha256));
  }

  async remove(sha256: string): Promise<void> {
    const key = this.blobKey(sha256);
    try {
      await this.deleteKey(key);
    } catch (error) {
      throw unavailable("remove a blob", error);
    }
  }

  async *list(): AsyncIterable<StoredBlob> {
    const under = `${this.options.prefix}blobs/`;
    for await (const object of this.listUnder(under, "list the blobs")) {
      // `<prefix>blobs/<first two hex digits>/<sha256>`: anything else under the prefix is not a blob of this store.
      const rest = object.key.slice(under.length);
      const sha256 = rest.slice(3);
      if (rest.length !== 67 || rest[2] !== "/" || !DIGEST.test(sha256) || rest.slice(0, 2) !== sha256.slice(0, 2)) continue;
      yield { sha256, size: object.size, modifiedAt: object.modifiedAt };
    }
  }

  async sweepStaged(olderThan: Date, options: { dryRun?: boolean } = {}): Promise<{ removed: number; bytes: number }> {
    let removed = 0;
    let bytes = 0;
    for await (const object of this.listUnder(`${this.options.prefix}staging/`, "list staged uploads")) {
      if (object.modifiedAt.getTime() >= olderThan.getTime()) continue;
      if (options.dryRun !== true) {
        try {
          await this.deleteKey(object.key);
        } catch (error) {
          throw unavailable("remove a stale staged upload", error);
        }
      }
      removed += 1;
      bytes += object.size;
    }
    return { removed, bytes };
  }

  /**
   * Every object under `prefix`, one listing page (`listPageSize` keys) at a time, each page after the last key of the
   * one before (`Marker`). ListObjects (version 1) with a marker rather than ListObjectsV2: every S3 implementation
   * pages it the same way, while V2's continuation tokens are the server's own, and some S3-compatible servers make
   * them with a cipher a current OpenSSL no longer offers (the test server fails every truncated V2 listing).
   */
  private async *listUnder(prefix: string, operation: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    let marker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsCommand({ Bucket: this.options.bucket, Prefix: prefix, MaxKeys: this.options.listPageSize ?? 1000, ...(marker !== undefined ? { Marker: marker } : {}) }),
        );
      } catch (error) {
        throw unavailable(operation, error);
      }
      let last: string | undefined;
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        last = object.Key;
        if (!object.Key.startsWith(prefix)) continue;
        // A server that leaves out the time makes the object look new: kept, never removed by mistake.
        yield { key: object.Key, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date() };
      }
      // Keys come in byte order: a page that does not move past the marker would repeat forever.
      if (page.IsTruncated !== true || last === undefined || (marker !== undefined && last <= marker)) return;
      marker = last;
    }
  }

  /** Staged objects present now (the contract suite checks that failures leave none). */
  async stagedCount(): Promise<number> {
    const answer = await this.client.send(new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: `${this.options.prefix}staging/` }));
    return answer.KeyCount ?? answer.Contents?.length ?? 0;
  }

  /** Closes the SDK's connections. */
  close(): void {
    this.client.destroy();
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isMissingObject(error)) return false;
      throw unavailable("look a blob up", error);
    }
  }

  private async deleteKey(key: string): Promise<void> {
    // S3's delete is idempotent: a missing key is no error.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
  }

  private blobKey(sha256: string): string {
    // The digest is the only part of a key that comes from outside: it must be exactly 64 hex digits.
    if (!DIGEST.test(sha256)) throw new Error("a blob address must be a lower-case hex SHA-256");
    return `${this.options.prefix}blobs/${sha256.slice(0, 2)}/${sha256}`;
  }

  private stagingKey(ref: string): string {
    return `${this.options.prefix}staging/${ref}`;
  }

  private stagedRef(staged: StagedBlob): string {
    if (!STAGED.test(staged.ref)) throw new Error("not a staged blob of this store");
    return staged.ref;
  }
}

/** A key as CopySource wants it: each path segment URL-encoded, the slashes kept. */
function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}
