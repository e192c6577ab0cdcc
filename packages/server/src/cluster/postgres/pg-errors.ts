/**
 * @module cluster/postgres/pg-errors
 * Tells a database that cannot be reached (answered as 503 `storage_unavailable`) from a fault of ours, and
 * turns an error into a log field without a stack trace or a connection string.
 */
import { StorageUnavailableError } from "../../storage/contracts/storage-errors.js";

/** SQLSTATE classes and codes that mean "the database is not there right now". */
function isUnavailableCode(code: string): boolean {
  return code.startsWith("08") || code.startsWith("53") || code === "57P01" || code === "57P02" || code === "57P03" || code === "57014";
}

/**
 * True for a lost or refused connection, a pool or query timeout, a shutdown or a full server. pg's own client
 * errors (no SQLSTATE) are all of that kind: the socket closed, the pool timed out, the client was ended.
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return isUnavailableCode(code);
  return true;
}

/** The error as a StorageUnavailableError when the database is away, else unchanged. */
export function asStorageError(error: unknown, what: string): unknown {
  if (error instanceof StorageUnavailableError || !isUnavailable(error)) return error;
  return new StorageUnavailableError(`${what}: the database is unavailable`, { cause: error });
}

/** A log field: the message alone (pg's messages carry no password; a stack trace never goes to a log). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
