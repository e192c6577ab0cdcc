/**
 * @module exit-codes
 * The exit codes scripts can rely on (their numbers and help text in exit-code-numbers.ts, re-exported here), and
 * the one table that maps API error codes onto them.
 */
import { ERROR_STATUS } from "@kai/protocol";
import { EXIT, type ExitCode } from "./exit-code-numbers.js";

export { EXIT, EXIT_CODES_HELP, type ExitCode } from "./exit-code-numbers.js";

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
