#!/usr/bin/env node
/**
 * @module main
 * The `kai` executable: runs the command line and exits with its code once stdout and stderr have both drained.
 * Why both: on a pipe, Node writes what the pipe takes at once (64 KiB on Linux) and queues the rest, and a bare
 * `process.exit` drops the queue. Errors go to stderr, and a manifest's validation error lists every bad entry: with
 * 20,000 of them, `kai services apply … 2>&1 | wc -c` stopped at 65,536 bytes mid-line and the `--json` error body
 * never arrived. Why exit at all rather than let the process end: a keep-alive socket or a timer of a library may
 * hold it open.
 */
import { run } from "./program.js";

/**
 * Resolves once everything written to `stream` so far is handed to the OS, or once the stream fails: a reader that
 * went away (`kai … | head -1`: EPIPE) will take nothing more, and its error, unheard, would end the process with a
 * stack trace and exit code 1 instead of the command's own.
 */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.on("error", () => resolve());
    stream.write("", () => resolve());
  });
}

const code = await run(process.argv.slice(2));
process.exitCode = code;
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit(code);
