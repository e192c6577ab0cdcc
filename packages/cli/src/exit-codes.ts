/**
 * @module exit-codes
 * The exit codes scripts can rely on, and the one table that maps API error codes onto them.
 * Changing a number here is a breaking change for every script that calls `kai`.
 */
import { ERROR_STATUS } from "@kai/protocol";

export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  notFound: 3,
  unauthorized: 4,
  conflict: 5,
  validation: 6,
  unreachable: 7,
  rateLimited: 8,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * HTTP status → exit code. The exit code of an API error follows from its status in the protocol's one error
 * table (`ERROR_STATUS`), so a new error code gets its exit code there and nowhere else: 401/403 are "no access"
 * (`invalid_credentials`, `mfa_required`, `session_revoked`, …), 502–504 "try later" (gateway, peers, storage).
 * Statuses not listed (500 internal, 413, 415, 408, …) are "unexpected".
 */
const BY_STATUS: Readonly<Record<number, ExitCode>> = {
  400: EXIT.validation,
  401: EXIT.unauthorized,
  403: EXIT.unauthorized,
  404: EXIT.notFound,
  409: EXIT.conflict,
  // A well-formed request the node could not carry out as asked (a model that never gave a valid plan).
  422: EXIT.validation,
  429: EXIT.rateLimited,
  502: EXIT.unreachable,
  503: EXIT.unreachable,
  504: EXIT.unreachable,
};

export function exitCodeForApiCode(code: string): ExitCode {
  const status = (ERROR_STATUS as Readonly<Record<string, number>>)[code];
  return (status !== undefined ? BY_STATUS[status] : undefined) ?? EXIT.unexpected;
}

/** Shown at the end of `kai --help`, and documented in docs/cli.md. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  unexpected error
  2  usage error (bad flags, unreadable or malformed file)
  3  not found
  4  unauthorized or forbidden (wrong password or code, missing, bad, expired or revoked token or
     session, missing scope, disabled account)
  5  conflict (e.g. the service id belongs to another owner)
  6  validation failed (the server, or the local schema check, refused the input)
  7  server unreachable or unavailable
  8  rate limited or sign-in throttled (retry after the time the server names)`;
