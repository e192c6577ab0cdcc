/**
 * @module errors
 * The server's one error type. Services throw `ApiError` with a stable code from the protocol's table;
 * the HTTP error handler turns it into `{"error":{"code","message","details"}}` with the code's status.
 */
import { ERROR_STATUS, type ErrorCode, type FieldError } from "@kai/protocol";
import { StorageUnavailableError } from "./storage/contracts/storage-errors.js";

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: FieldError[],
    /** Extra response headers (e.g. Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERROR_STATUS[code];
  }
}

export const notFound = (what: string) => new ApiError("not_found", `${what} not found`);
export const forbidden = (message: string) => new ApiError("forbidden", message);
export const conflict = (message: string) => new ApiError("conflict", message);

/**
 * The `StorageUnavailableError` that `error` is or was caused by (a service may wrap the backend's error in its
 * own), else undefined. The chain is followed a bounded number of steps, so a cyclic `cause` cannot hang a reply.
 */
export function storageUnavailableIn(error: unknown): StorageUnavailableError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current instanceof Error; depth++) {
    if (current instanceof StorageUnavailableError) return current;
    current = current.cause;
  }
  return undefined;
}

/**
 * The one answer while the database cannot be reached: 503 `storage_unavailable`, worth retrying at once (another
 * instance, or this one once the database is back). It says nothing of the backend's own error (host, user, URL).
 */
export const storageUnavailable = () =>
  new ApiError("storage_unavailable", "the database is unavailable; retry shortly", undefined, { "Retry-After": "1" });
