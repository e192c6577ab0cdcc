/**
 * @module api-hints
 * A node's error message speaks of the request's fields ("give one", "declare it in variables"); on the command line
 * the same thing is a flag or an environment variable. A command that knows which flag that is rewords the message
 * with `reworded`, keeping everything else of the error (code, status, details, request id), so exit codes and
 * `--json` output stay what they were.
 */
import { KaiApiError } from "@kai/sdk";

/** The node's error with another message, everything else of it kept. */
export function reworded(error: KaiApiError, message: string): KaiApiError {
  return new KaiApiError({
    status: error.status,
    code: error.code,
    message,
    ...(error.details !== undefined && { details: error.details }),
    ...(error.requestId !== undefined && { requestId: error.requestId }),
    ...(error.traceId !== undefined && { traceId: error.traceId }),
    ...(error.retryAfterSeconds !== undefined && { retryAfterSeconds: error.retryAfterSeconds }),
  });
}

/** True for the node's error of this code whose message starts with `start`. */
export function isApiError(error: unknown, code: string, start = ""): error is KaiApiError {
  return error instanceof KaiApiError && error.code === code && error.message.startsWith(start);
}
