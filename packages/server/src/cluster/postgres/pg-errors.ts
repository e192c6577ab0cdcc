/**
 * @module cluster/postgres/pg-errors
 * How the cluster reports database failures: availability failures become `StorageUnavailableError` through the
 * store's one classifier (storage/postgres/pg-errors.ts), and a log line gets the failure's kind, never pg's own
 * message (which may echo a host or user) nor a stack trace.
 */
import { toStorageError, unavailableReason } from "../../storage/postgres/pg-errors.js";

/** The error as a StorageUnavailableError when the database is away (naming what failed), else unchanged. */
export function asStorageError(error: unknown, what: string): unknown {
  const mapped = toStorageError(error);
  if (mapped !== error && mapped instanceof Error) mapped.message = `${what}: ${mapped.message}`;
  return mapped;
}

/** A log field for a failure: the database's state when it is unavailable, else the error's class and SQLSTATE. */
export function errorText(error: unknown): string {
  const reason = unavailableReason(error);
  if (reason !== null) return `database unavailable (${reason})`;
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? `${error.name} ${code}: ${error.message}` : error.message;
}
