/**
 * @module exit-codes
 * The exit codes scripts can rely on, and the one table that maps API error codes onto them.
 * Changing a number here is a breaking change for every script that calls `kai`.
 */
import type { ErrorCode } from "@kai/protocol";

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

/** API error code → exit code. Codes not listed (internal, payload_too_large, …) are "unexpected". */
const BY_API_CODE: Partial<Record<ErrorCode, ExitCode>> = {
  validation_failed: EXIT.validation,
  invalid_json: EXIT.validation,
  unauthorized: EXIT.unauthorized,
  forbidden: EXIT.unauthorized,
  not_found: EXIT.notFound,
  conflict: EXIT.conflict,
  rate_limited: EXIT.rateLimited,
  // A server that is shutting down or overloaded is, for a script, as good as unreachable: retry later.
  unavailable: EXIT.unreachable,
  // The vault: a wrong passphrase is an authentication failure; a locked vault is unavailable until unlocked.
  invalid_passphrase: EXIT.unauthorized,
  vault_locked: EXIT.unreachable,
  // The node's database is away: the node itself is as good as unreachable until it returns.
  storage_unavailable: EXIT.unreachable,
  vault_not_initialized: EXIT.unreachable,
  decryption_failed: EXIT.validation,
  // The gateway: no service could answer (down, rate limited, unreachable) is "try later"; a model that no
  // service serves is "not found"; a request the provider refused is a validation failure.
  model_not_found: EXIT.notFound,
  upstream_bad_request: EXIT.validation,
  upstream_rate_limited: EXIT.rateLimited,
  upstream_error: EXIT.unreachable,
  upstream_auth_failed: EXIT.unreachable,
  upstream_unreachable: EXIT.unreachable,
  upstream_invalid_response: EXIT.unreachable,
  upstream_stream_broken: EXIT.unreachable,
  upstream_timeout: EXIT.unreachable,
  upstream_not_found: EXIT.notFound,
  upstream_conflict: EXIT.conflict,
  capability_not_found: EXIT.notFound,
  no_service_available: EXIT.unreachable,
  services_rate_limited: EXIT.rateLimited,
  credential_unavailable: EXIT.unreachable,
  // Federation: a peer that cannot be read is unreachable; one that is not the pinned DID is a conflict.
  peer_unreachable: EXIT.unreachable,
  peer_identity_mismatch: EXIT.conflict,
};

export function exitCodeForApiCode(code: string): ExitCode {
  return BY_API_CODE[code as ErrorCode] ?? EXIT.unexpected;
}

/** Shown at the end of `kai --help`, and documented in docs/cli.md. */
export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  unexpected error
  2  usage error (bad flags, unreadable or malformed file)
  3  not found
  4  unauthorized or forbidden (missing, bad, expired or revoked token; missing scope)
  5  conflict (e.g. the service id belongs to another owner)
  6  validation failed (the server, or the local schema check, refused the input)
  7  server unreachable or unavailable
  8  rate limited (retry after the time the server names)`;
