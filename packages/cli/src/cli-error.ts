/**
 * @module cli-error
 * Errors the CLI raises itself (bad flags, unreadable files, local validation) and the shape every failure is
 * printed in. Turning any other thrown value (the SDK's errors) into that shape is `describe-error.ts`: it loads the
 * SDK, which a command that fails on a bad flag, or `kai --help`, need not.
 */
import type { FieldError } from "@kai/protocol";
import { EXIT, type ExitCode } from "./exit-code-numbers.js";

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
  body: { error: { code: string; message: string; details?: FieldError[]; requestId?: string; traceId?: string; status?: number } };
}

/** What is printed for a failure the CLI raised itself. */
export function describeCliError(error: CliError): ReportedError {
  return { exitCode: error.exitCode, body: { error: withDetails({ code: error.code, message: error.message }, error.details) } };
}

/** `details` only when there are any (describe-error.ts uses it for the SDK's errors too). */
export function withDetails<T extends object>(body: T, details: FieldError[] | undefined): T & { details?: FieldError[] } {
  return details && details.length > 0 ? { ...body, details } : body;
}

/**
 * The server package's `ConfigError` (a config file or setting that cannot be used) as a usage error (exit 2). Its
 * message lists one problem per line; here the first line is the message and each problem a detail
 * (`  - tracing.otlp: unknown setting (did you mean tracing.otlpEndpoint?)`), as the API's errors print, instead of one
 * long line. `undefined` for anything else.
 */
export function configUsageError(error: unknown): CliError | undefined {
  if (!(error instanceof Error) || error.name !== "ConfigError") return undefined;
  const problems = (error as { problems?: ReadonlyArray<{ key: string; message: string; layer?: string; source?: string }> }).problems ?? [];
  if (problems.length === 0) return usageError(error.message);
  const heading = (error.message.split("\n", 1)[0] ?? error.message).replace(/:$/, "");
  // A heading that names no layer (a rule between settings, checked once every layer is merged): each problem says
  // where it came from, so the operator knows which file, variable or flag to change.
  const origin = (problem: { layer?: string; source?: string }) =>
    / layer /.test(heading) || problem.layer === undefined || problem.layer === "defaults" ? "" : ` (from the ${problem.layer} layer, ${problem.source ?? "unknown"})`;
  return usageError(heading, problems.map((problem) => ({ path: problem.key || "(root)", message: `${problem.message}${origin(problem)}` })));
}

/**
 * A failure of the server package run in this process (`kai backup restore`/`verify --file`, `kai storage copy`) as
 * the CLI prints it: an `ApiError` keeps its code (and so its exit code); a database another node holds is a conflict
 * (exit 5); anything else is unexpected. `scrub` takes out what must not be printed (a database URL's password).
 * `exitCodeFor` is exit-codes.ts's mapping, passed in: it loads the protocol package, which this module (read at every
 * start) must not.
 */
export function serverPackageError(error: unknown, exitCodeFor: (code: string) => ExitCode, scrub: (text: string) => string = (text) => text): CliError {
  const message = scrub(error instanceof Error ? error.message : String(error));
  const code = (error as { code?: unknown }).code;
  if (error instanceof Error && error.name === "ApiError" && typeof code === "string") return new CliError(message, code, exitCodeFor(code));
  return databaseInUseError(error) ?? new CliError(message, "internal", EXIT.unexpected);
}

/** The server package's `DatabaseInUseError` (another node holds the SQLite database) as a conflict (exit 5). */
export function databaseInUseError(error: unknown): CliError | undefined {
  return error instanceof Error && error.name === "DatabaseInUseError" ? new CliError(error.message, "conflict", EXIT.conflict) : undefined;
}
