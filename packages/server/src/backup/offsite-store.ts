/**
 * @module backup/offsite-store
 * Offsite copies of the node's backups in an S3-compatible bucket (`backup.offsite`, docs/operations/backup.md): a
 * backup kept only on the node's own disk is lost with that disk. Each backup file is one object,
 * `<prefix><id>.kaibak`, uploaded as it is (encrypted: without the passphrase it reveals only its public header), its
 * header's public facts also as the object's metadata so that a listing needs no download. BackupService uses it:
 * copy after each backup taken, list beside the backup directory, fetch back a backup kept only here, delete and
 * prune in both places.
 *
 * Errors: every S3 failure becomes `backup_offsite_unavailable` (503) naming the operation, the S3 error's name and
 * its cause's code (`ECONNREFUSED: connection refused`), nothing else of it (storage/s3-connection.ts says why).
 */
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { BackupIdSchema, BackupSourceBackendSchema, BackupVaultUnsealSchema, type BackupSummary } from "@kai/protocol";
import { ApiError } from "../errors.js";
import { isMissingObject, s3ClientFor, s3ErrorWords, type S3Connection } from "../storage/s3-connection.js";

export interface OffsiteStoreOptions extends S3Connection {
  bucket: string;
  /** Prepended to every key (`kai-backups/`); empty for the bucket's root. */
  prefix: string;
}

/** A backup kept in the bucket, as its listing says: its id and size. */
export interface OffsiteBackup {
  id: string;
  bytes: number;
}

const SUFFIX = ".kaibak";
/** S3's smallest part of a multipart upload, and the most parts one upload may have. */
const MIN_PART_BYTES = 5 * 1024 ** 2;
const MAX_PARTS = 10_000;

/**
 * The part size for a file of `bytes`: S3's minimum (two parts on their way at once: ~15 MB of memory) until the file
 * would need more than S3's 10,000 parts (~48 GiB, a backup with many artifacts' bytes), then large enough to fit,
 * with room to spare.
 */
export function partSizeFor(bytes: number): number {
  return Math.max(MIN_PART_BYTES, Math.ceil(bytes / (MAX_PARTS - 500)));
}

export function offsiteUnavailable(operation: string, error: unknown): ApiError {
  return new ApiError("backup_offsite_unavailable", `the offsite backup store (backup.offsite) failed to ${operation} (${s3ErrorWords(error)})`);
}

export class OffsiteStore {
  /** Made at first use, not at the node's start: a node that takes no backup never talks to the store. */
  private madeClient: S3Client | undefined;

  constructor(private readonly options: OffsiteStoreOptions) {}

  private get client(): S3Client {
    return (this.madeClient ??= s3ClientFor(this.options, "backup.offsite.s3"));
  }

  /** `bucket/prefix`, for messages and the log. */
  get where(): string {
    return `${this.options.bucket}/${this.options.prefix}`;
  }

  /** Copies backup `summary.id`'s file to the bucket (its facts as the object's metadata). */
  async put(file: string, summary: BackupSummary): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.options.bucket,
        Key: this.keyOf(summary.id),
        Body: createReadStream(file),
        ContentType: "application/octet-stream",
        Metadata: {
          "created-at": summary.createdAt,
          did: summary.did,
          "source-backend": summary.sourceBackend,
          "with-artifacts": String(summary.withArtifacts),
          // Retention prunes scheduled backups only: the bucket's copies say which they are without a download.
          ...(summary.scheduled !== undefined ? { scheduled: String(summary.scheduled) } : {}),
          ...(summary.vaultUnseal !== undefined ? { "vault-unseal": summary.vaultUnseal } : {}),
        },
      },
      partSize: partSizeFor(summary.bytes),
      queueSize: 2,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      await upload.abort().catch(() => undefined);
      throw offsiteUnavailable("copy a backup there", error);
    }
  }

  /** The backups in the bucket (objects under the prefix named like a backup), a page of 1000 at a time. */
  async list(): Promise<OffsiteBackup[]> {
    const found: OffsiteBackup[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.options.prefix, ...(token !== undefined ? { ContinuationToken: token } : {}) }),
        );
        for (const object of page.Contents ?? []) {
          const id = this.idOf(object.Key);
          if (id !== undefined) found.push({ id, bytes: object.Size ?? 0 });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (error) {
      throw offsiteUnavailable("list the backups", error);
    }
    return found;
  }

  /**
   * The listing's facts of a backup kept only in the bucket, from its metadata; `undefined` when the object is gone
   * or its metadata is not a backup's (an object someone put there by hand: fetch and verify it to know).
   */
  async summaryOf(backup: OffsiteBackup): Promise<BackupSummary | undefined> {
    let metadata: Record<string, string> | undefined;
    try {
      metadata = (await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(backup.id) }))).Metadata;
    } catch (error) {
      if (isMissingObject(error)) return undefined;
      throw offsiteUnavailable("read a backup's facts", error);
    }
    const createdAt = metadata?.["created-at"];
    const sourceBackend = BackupSourceBackendSchema.safeParse(metadata?.["source-backend"]);
    const did = metadata?.did;
    if (createdAt === undefined || Number.isNaN(Date.parse(createdAt)) || !sourceBackend.success || did === undefined) return undefined;
    // Both absent from copies made before they were recorded (such a copy is never pruned, as in the directory).
    const scheduled = metadata?.scheduled === "true" ? true : metadata?.scheduled === "false" ? false : undefined;
    const vaultUnseal = BackupVaultUnsealSchema.safeParse(metadata?.["vault-unseal"]);
    return {
      id: backup.id,
      createdAt: new Date(Date.parse(createdAt)).toISOString(),
      did,
      sourceBackend: sourceBackend.data,
      withArtifacts: metadata?.["with-artifacts"] === "true",
      bytes: backup.bytes,
      locations: ["offsite"],
      ...(scheduled !== undefined ? { scheduled } : {}),
      ...(vaultUnseal.success ? { vaultUnseal: vaultUnseal.data } : {}),
    };
  }

  /** Whether the bucket holds backup `id` (one HEAD request). */
  async has(id: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(id) }));
      return true;
    } catch (error) {
      if (isMissingObject(error)) return false;
      throw offsiteUnavailable("look for a backup", error);
    }
  }

  /**
   * Downloads backup `id` to `file` (through `<file>.partial`, renamed when whole: a download cut off never looks
   * like a backup). False when the bucket does not hold it.
   */
  async fetch(id: string, file: string): Promise<boolean> {
    const partial = `${file}.partial`;
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(id) }));
      if (!(object.Body instanceof Readable)) throw new Error("the object's body is not a stream");
      await pipeline(object.Body, createWriteStream(partial, { mode: 0o600 }));
      await rename(partial, file);
      return true;
    } catch (error) {
      await rm(partial, { force: true });
      if (isMissingObject(error)) return false;
      throw offsiteUnavailable("fetch a backup", error);
    }
  }

  /** Deletes backup `id`'s object (nothing when it is not there). */
  async remove(id: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.keyOf(id) }));
    } catch (error) {
      throw offsiteUnavailable("delete a backup", error);
    }
  }

  close(): void {
    this.madeClient?.destroy();
  }

  private keyOf(id: string): string {
    return `${this.options.prefix}${id}${SUFFIX}`;
  }

  /** The backup id an object's key names, if it names one directly under the prefix. */
  private idOf(key: string | undefined): string | undefined {
    if (key === undefined || !key.startsWith(this.options.prefix) || !key.endsWith(SUFFIX)) return undefined;
    const id = key.slice(this.options.prefix.length, -SUFFIX.length);
    return BackupIdSchema.safeParse(id).success ? id : undefined;
  }
}
