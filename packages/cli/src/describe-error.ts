/**
 * @module describe-error
 * Any thrown value as what is printed and the exit code: the CLI's own errors as they are, SDK errors with their API
 * code (and its exit code), anything else as unexpected.
 */
import { KaiApiError, KaiConnectionError } from "@kai/sdk";
import { CliError, describeCliError, withDetails, type ReportedError } from "./cli-error.js";
import { EXIT, exitCodeForApiCode } from "./exit-codes.js";

export function describeError(error: unknown): ReportedError {
  if (error instanceof CliError) return describeCliError(error);
  if (error instanceof KaiApiError) {
    const body: ReportedError["body"]["error"] = withDetails({ code: error.code, message: error.message, status: error.status }, error.details);
    if (error.requestId) body.requestId = error.requestId;
    if (error.traceId) body.traceId = error.traceId;
    return { exitCode: exitCodeForApiCode(error.code), body: { error: body } };
  }
  if (error instanceof KaiConnectionError) {
    return { exitCode: EXIT.unreachable, body: { error: { code: "unreachable", message: error.message } } };
  }
  // Unexpected: say what happened without a stack trace (stack traces are for `KAI_DEBUG=1`).
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT.unexpected, body: { error: { code: "internal", message } } };
}
