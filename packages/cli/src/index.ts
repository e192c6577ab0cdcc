/**
 * @module @kai/cli
 * The `kai` command line as a library: build the command tree or run a command line in-process.
 */
export { buildProgram, run } from "./program.js";
export { EXIT, EXIT_CODES_HELP, exitCodeForApiCode, type ExitCode } from "./exit-codes.js";
export { formatTable } from "./output.js";
export { isUnchanged, type ApplyAction, type ApplyResult } from "./apply-manifest.js";
export { planManifest } from "./manifest-check/plan-entries.js";
