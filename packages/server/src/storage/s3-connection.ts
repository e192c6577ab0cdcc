/**
 * @module storage/s3-connection
 * An S3 client for any S3-compatible object store, and what of its errors may be told: shared by the artifacts' blob
 * store (artifacts/s3-blob-store.ts) and the backups' offsite copies (backup/offsite-store.ts), through the official
 * AWS SDK.
 *
 * Errors: an SDK error carries request details (the access key id among them, for some), which must reach neither a
 * response nor a log: callers tell only its name and HTTP status (`describeS3Error`). The credentials themselves are
 * only ever handed to the SDK.
 */
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";

export interface S3Connection {
  /** An S3-compatible endpoint (`https://minio.example:9000`); absent: AWS S3 in `region`. */
  endpoint?: string | undefined;
  region: string;
  /** Bucket in the path (`endpoint/bucket/key`), as most S3-compatible servers need, instead of a virtual host. */
  forcePathStyle: boolean;
  /** Both or neither; neither: the SDK's default chain (AWS_ACCESS_KEY_ID…, instance roles). */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
}

/** A client for `connection`; `setting` names it in the error thrown for half a pair of credentials. */
export function s3ClientFor(connection: S3Connection, setting: string): S3Client {
  if ((connection.accessKeyId === undefined) !== (connection.secretAccessKey === undefined)) {
    throw new Error(`${setting} needs both accessKeyId and secretAccessKey, or neither`);
  }
  const config: S3ClientConfig = {
    region: connection.region,
    forcePathStyle: connection.forcePathStyle,
    // The SDK (since 3.729) adds a CRC32 checksum to every upload by default, sent as an aws-chunked trailer, and
    // validates response checksums whenever present. Many S3-compatible servers (older MinIO, Ceph RGW, R2, B2, and
    // the test server) reject or mis-store aws-chunked trailers: "only when the operation requires one" keeps the
    // requests plain S3 that every implementation speaks. Integrity does not rest on it: the artifacts' digest is
    // computed while the bytes stream in, and a backup is an authenticated encryption of its content.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(connection.endpoint !== undefined ? { endpoint: connection.endpoint } : {}),
    ...(connection.accessKeyId !== undefined && connection.secretAccessKey !== undefined
      ? { credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey } }
      : {}),
  };
  return new S3Client(config);
}

/** The S3 error's name and HTTP status, nothing else of it (see the module header). */
export function describeS3Error(error: unknown): { name: string; status: number | undefined } {
  const candidate = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  const name = typeof candidate?.name === "string" && /^[A-Za-z][A-Za-z0-9_.-]{0,60}$/.test(candidate.name) ? candidate.name : "Error";
  const status = typeof candidate?.$metadata?.httpStatusCode === "number" ? candidate.$metadata.httpStatusCode : undefined;
  return { name, status };
}

/** `NoSuchKey, HTTP 404`: what an error message may say of an S3 failure. */
export function s3ErrorWords(error: unknown): string {
  const { name, status } = describeS3Error(error);
  return `${name}${status !== undefined ? `, HTTP ${status}` : ""}`;
}

/** The object is not there (a missing bucket is a fault of the setup, not a missing object). */
export function isMissingObject(error: unknown): boolean {
  const { name, status } = describeS3Error(error);
  return name !== "NoSuchBucket" && (status === 404 || name === "NotFound" || name === "NoSuchKey");
}
