/**
 * @module storage/s3-connection
 * An S3 client for any S3-compatible object store, and what of its errors may be told: shared by the artifacts' blob
 * store (artifacts/s3-blob-store.ts) and the backups' offsite copies (backup/offsite-store.ts), through the official
 * AWS SDK.
 *
 * Errors: an SDK error carries request details (the access key id among them, for some), which must reach neither a
 * response nor a log: callers tell only its name, HTTP status and cause (`describeS3Error`). The cause is a code, never
 * a message, and only of a shape on an allow-list (`SAFE_CODES`): the system's (`ECONNREFUSED`, `ERR_SOCKET_…`) or a
 * TLS one (`CERT_HAS_EXPIRED`: capitals with an underscore) when the store was never reached, which is what an operator
 * needs ("the error's name: Error" says nothing), or the S3 error's own code, PascalCase words (`InvalidAccessKeyId`,
 * which is also its name, so it is said once). Never a token of capitals and digits alone: an AWS access key id
 * (`AKIA…`) has that shape, and must not be shown even if some layer put one in a `code`. The credentials themselves
 * are only ever handed to the SDK.
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

/**
 * The shapes of a code that may be told (see the module header): a system code (`ECONNREFUSED`: `E` and capitals, as
 * short as the system's are), a code with an underscore (Node's `ERR_TLS_CERT_ALTNAME_INVALID`, `EAI_AGAIN`, OpenSSL's
 * `CERT_HAS_EXPIRED`), and S3's (`InvalidAccessKeyId`, `NoSuchBucket`: two or more capitalised words of letters). A
 * token of capitals and digits without an underscore matches none of them: an access key id (`AKIAIOSFODNN7EXAMPLE`,
 * 20 characters) is never told.
 */
const SAFE_CODES: readonly RegExp[] = [/^E[A-Z]{2,15}$/, /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/, /^[A-Z][a-z]+(?:[A-Z][a-z]+)+$/];

const isSafeCode = (code: string) => code.length <= 64 && SAFE_CODES.some((shape) => shape.test(code));

/** The system codes an unreachable store gives most often, in words. */
const CODE_WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "timed out",
  ENOTFOUND: "no such host",
  EAI_AGAIN: "the host name could not be looked up now",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPIPE: "connection closed",
  CERT_HAS_EXPIRED: "the store's TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the store's TLS certificate is self-signed",
  SELF_SIGNED_CERT_IN_CHAIN: "the store's TLS certificate is from an untrusted CA",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the store's TLS certificate cannot be verified",
  ERR_TLS_CERT_ALTNAME_INVALID: "the store's TLS certificate is for another host",
};

/** The code of an error or of what caused it (an AggregateError's first one: each address tried), if one may be told. */
function causeCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 3) return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === "string" && isSafeCode(code)) return code;
  return causeCode(cause, depth + 1) ?? (Array.isArray(errors) ? causeCode(errors[0], depth + 1) : undefined);
}

/**
 * The S3 error's name, HTTP status and cause's code, nothing else of it (see the module header). A name is a class's or
 * S3's (`TimeoutError`, `NoSuchBucket`): one without a lowercase letter is not told either (the shape of a key id).
 */
export function describeS3Error(error: unknown): { name: string; status: number | undefined; code: string | undefined } {
  const candidate = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  const given = candidate?.name;
  const name = typeof given === "string" && /^[A-Za-z][A-Za-z0-9_.-]{0,60}$/.test(given) && /[a-z]/.test(given) ? given : "Error";
  const status = typeof candidate?.$metadata?.httpStatusCode === "number" ? candidate.$metadata.httpStatusCode : undefined;
  return { name, status, code: causeCode(error) };
}

/**
 * What an error message may say of an S3 failure: `NoSuchBucket, HTTP 404` when the store answered;
 * `ECONNREFUSED: connection refused` when it was never reached (the SDK's name is then a bare `Error`).
 */
export function s3ErrorWords(error: unknown): string {
  const { name, status, code } = describeS3Error(error);
  const cause = code !== undefined && code !== name ? `${code}${CODE_WORDS[code] !== undefined ? `: ${CODE_WORDS[code]}` : ""}` : undefined;
  const parts = [...(name !== "Error" || cause === undefined ? [name] : []), ...(status !== undefined ? [`HTTP ${status}`] : []), ...(cause !== undefined ? [cause] : [])];
  return parts.join(", ");
}

/** The object is not there (a missing bucket is a fault of the setup, not a missing object). */
export function isMissingObject(error: unknown): boolean {
  const { name, status } = describeS3Error(error);
  return name !== "NoSuchBucket" && (status === 404 || name === "NotFound" || name === "NoSuchKey");
}
