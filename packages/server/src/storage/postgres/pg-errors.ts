/**
 * @module storage/postgres/pg-errors
 * Sorts what `pg` throws into what the rest of the server can act on. Everything that means "the database cannot
 * serve right now" (refused, lost or timed-out connections, a statement cancelled by statement_timeout, the server
 * shutting down or out of connection slots) becomes `StorageUnavailableError`, whose message names the kind of
 * failure and never the URL, user or password that `pg`'s own messages may echo; the HTTP layer answers it 503.
 * Deadlocks and serialisation failures are told apart because the write path retries them.
 */
import { StorageUnavailableError } from "../contracts/storage-errors.js";

/** SQLSTATE classes and codes that mean the database is unavailable, with the reason the message gives. */
const UNAVAILABLE_STATES: ReadonlyArray<[prefix: string, reason: string]> = [
  ["57P01", "server shutting down"], // admin_shutdown
  ["57P02", "server crashed"], // crash_shutdown
  ["57P03", "server starting or shutting down"], // cannot_connect_now
  ["57014", "statement timeout"], // query_canceled (statement_timeout, or a cancel request)
  ["55P03", "lock timeout"], // lock_not_available
  ["53300", "too many connections"],
  ["53", "server out of resources"], // disk full, out of memory
  ["08", "connection lost"], // connection_exception
  ["58", "server I/O error"], // system_error
];

/** Socket errors (Node's `code`) of a connection that could not be made or was cut. */
const SOCKET_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection lost",
  EPIPE: "connection lost",
  ETIMEDOUT: "connect timeout",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "host unreachable",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  ENOENT: "socket not found",
};

/** Messages of `pg` and `pg-pool` errors that carry no code. */
const CLIENT_MESSAGES: ReadonlyArray<[pattern: RegExp, reason: string]> = [
  [/^timeout exceeded when trying to connect$/, "no connection free in time"],
  [/^Connection terminated due to connection timeout$/, "connect timeout"],
  [/^Connection terminated/, "connection lost"],
  [/not queryable/, "connection lost"],
  [/^timeout expired$/, "connect timeout"],
  [/^Query read timeout$/, "statement timeout"],
];

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Why the database is unavailable, or null when `error` means something else (a constraint, a bad statement). */
export function unavailableReason(error: unknown): string | null {
  if (error instanceof StorageUnavailableError) return error.message;
  const code = codeOf(error);
  if (code !== undefined) {
    const socket = SOCKET_CODES[code];
    if (socket) return socket;
    for (const [prefix, reason] of UNAVAILABLE_STATES) if (code.startsWith(prefix)) return reason;
  }
  const message = error instanceof Error ? error.message : "";
  for (const [pattern, reason] of CLIENT_MESSAGES) if (pattern.test(message)) return reason;
  // A connect failure may hide the socket error in `cause` (pg-pool's connection timeout) or in an AggregateError (dual-stack connects).
  const nested = (error as { cause?: unknown; errors?: unknown } | null) ?? {};
  if (nested.cause !== undefined && nested.cause !== error) return unavailableReason(nested.cause);
  if (Array.isArray(nested.errors) && nested.errors.length > 0) return unavailableReason(nested.errors[0]);
  return null;
}

/** `StorageUnavailableError` for an availability failure, else `error` itself (it carries no secret). */
export function toStorageError(error: unknown): unknown {
  if (error instanceof StorageUnavailableError) return error;
  const reason = unavailableReason(error);
  return reason === null ? error : new StorageUnavailableError(`the database is unavailable (${reason})`);
}

/** A deadlock or serialisation failure: the transaction did nothing and may simply be run again. */
export function isRetryable(error: unknown): boolean {
  const code = codeOf(error);
  return code === "40P01" || code === "40001";
}

/** A unique constraint refused a row (23505). */
export function isUniqueViolation(error: unknown): boolean {
  return codeOf(error) === "23505";
}
