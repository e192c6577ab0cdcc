/**
 * @module cli-error
 * Errors the CLI raises itself (bad flags, unreadable files, local validation), and the conversion of
 * any thrown value into what is printed and the exit code. SDK errors keep their API code.
 */
import type { FieldError } from "@kai/protocol";
import { KaiApiError, KaiConnectionError } from "@kai/sdk";
import { EXIT, exitCodeForApiCode, type ExitCode } from "./exit-codes.js";

/** A failure with a stable code, a message for humans and the exit code it ends the process with. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: ExitCode,
    readonly details?: FieldError[],
  ) {
    super(message);
  }
}

/** The user asked for something that cannot work: bad flag value, missing or malformed file. */
export function usageError(message: string, details?: FieldError[]): CliError {
  return new CliError(message, "usage", EXIT.usage, details);
}

/** What is printed for a failure: same shape as the API's error body, so scripts parse one format. */
export interface ReportedError {
  exitCode: ExitCode;
  body: { error: { code: string; message: string; details?: FieldError[]; requestId?: string; status?: number } };
}

export function describeError(error: unknown): ReportedError {
  if (error instanceof CliError) {
    return { exitCode: error.exitCode, body: { error: withDetails({ code: error.code, message: error.message }, error.details) } };
  }
  if (error instanceof KaiApiError) {
    const body: ReportedError["body"]["error"] = withDetails({ code: error.code, message: error.message, status: error.status }, error.details);
    if (error.requestId) body.requestId = error.requestId;
    return { exitCode: exitCodeForApiCode(error.code), body: { error: body } };
  }
  if (error instanceof KaiConnectionError) {
    return { exitCode: EXIT.unreachable, body: { error: { code: "unreachable", message: error.message } } };
  }
  // Unexpected: say what happened without a stack trace (stack traces are for `KAI_DEBUG=1`).
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT.unexpected, body: { error: { code: "internal", message } } };
}

function withDetails<T extends object>(body: T, details: FieldError[] | undefined): T & { details?: FieldError[] } {
  return details && details.length > 0 ? { ...body, details } : body;
}
