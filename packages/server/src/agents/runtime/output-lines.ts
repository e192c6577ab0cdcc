/**
 * @module agents/runtime/output-lines
 * A run-agent's stdout and stderr into the node's log, one entry per line with the agent's id, so an operator reads
 * the agents' output where they read the node's. Lines are cut to a length, a line holding the process's token is
 * logged with the token masked (an agent printing its environment must not leak it into the log), and a flood is
 * cut to a number of lines per second (the rest counted, then reported once).
 */
import type { Readable } from "node:stream";
import type { Logger } from "../../logging/logger.js";

const MAX_LINE = 2000;
const MAX_LINES_PER_SECOND = 200;

export function logLines(stream: Readable, options: { logger: Logger; stream: "stdout" | "stderr"; secret: string }): void {
  let buffered = "";
  let windowStart = 0;
  let inWindow = 0;
  let dropped = 0;
  const emit = (raw: string) => {
    const line = raw.replace(/\r$/, "");
    if (line.length === 0) return;
    const now = Date.now();
    if (now - windowStart >= 1000) {
      if (dropped > 0) options.logger.warn({ stream: options.stream, dropped }, "agent output lines dropped (too many per second)");
      windowStart = now;
      inWindow = 0;
      dropped = 0;
    }
    if (++inWindow > MAX_LINES_PER_SECOND) {
      dropped++;
      return;
    }
    const masked = options.secret.length > 0 ? line.split(options.secret).join("[redacted]") : line;
    const text = masked.length > MAX_LINE ? `${masked.slice(0, MAX_LINE)}…` : masked;
    if (options.stream === "stderr") options.logger.warn({ stream: "stderr", line: text }, "agent output");
    else options.logger.info({ stream: "stdout", line: text }, "agent output");
  };
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      emit(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
    // A line without an end for this long is logged in pieces rather than held without bound.
    if (buffered.length > MAX_LINE * 4) {
      emit(buffered);
      buffered = "";
    }
  });
  stream.on("end", () => {
    if (buffered.length > 0) emit(buffered);
    buffered = "";
  });
}
