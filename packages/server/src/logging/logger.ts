/**
 * @module logging/logger
 * Structured JSON logs (pino) to stdout and to the files under `<dataDir>/logs/` (log-files.ts: `system/`,
 * `security/`, `agents/`, rotated, with retention); security events whatever the level (security-lines.ts). Secrets never reach a log line:
 * request headers and query strings are not logged at all, and known secret-bearing fields are redacted
 * as a second line of defence.
 */
import pino, { type Logger, type DestinationStream } from "pino";
import type { Config } from "../config/config-schema.js";
import { LogTail } from "./log-tail.js";
import { destinationLevel, levelTracking } from "./log-level.js";
import { createSecurityLogger } from "./security-lines.js";
import { openLogFiles, type LogFiles } from "./log-files.js";
import { MAX_HELD_BYTES, watchDestination } from "./destination-trouble.js";
import { requestScopeFields } from "./request-scope.js";
import { activeTraceIds } from "../tracing/spans.js";

export type { Logger };

/** Field paths censored wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  "token", "*.token", "authorization", "*.authorization", "headers.authorization", "*.headers.authorization",
  "password", "*.password", "secret", "*.secret", "apiKey", "*.apiKey", "value", "*.value", "plaintext", "*.plaintext",
];

export interface CreateLoggerOptions {
  config: Config;
  /** Extra destination (tests capture log lines through it). */
  extraDestination?: DestinationStream;
}

/** Each logger's ring of recent lines (`GET /api/logs`): looked up by the logger, so nothing else has to carry it. */
const tails = new WeakMap<Logger, LogTail>();

/** The ring of recent, already-redacted lines that `createLogger` attached to this logger (a fresh empty one otherwise). */
export function logTailOf(logger: Logger): LogTail {
  let tail = tails.get(logger);
  if (!tail) {
    tail = new LogTail();
    tails.set(logger, tail);
  }
  return tail;
}

export interface CreatedLogger {
  logger: Logger;
  /**
   * What security events are written with (security-lines.ts): at info whatever the level, when the node writes a
   * security log file to record them in; `logger` itself otherwise. Handed to their writers by server.ts.
   */
  securityLogger: Logger;
  flush(): Promise<void>;
  tail: LogTail;
  failingFiles(): string[];
}

export function createLogger({ config, extraDestination }: CreateLoggerOptions): CreatedLogger {
  const level = config.logging.level;
  const streams: pino.StreamEntry[] = [];
  let files: LogFiles | undefined;
  if (config.logging.stdout) {
    // Asynchronous (a pipe whose reader is slow must not stop the node); what it cannot write: destination-trouble.ts.
    streams.push({ stream: watchDestination(pino.destination({ fd: 1, sync: false, maxLength: MAX_HELD_BYTES }), "stdout").destination });
  }
  if (config.logging.file) {
    files = openLogFiles(config);
    streams.push(...files.streams);
  }
  if (extraDestination) streams.push({ stream: extraDestination });
  // The in-memory ring behind GET /api/logs: it receives each line after redaction, like every other destination.
  const tail = new LogTail();
  streams.push({ stream: tail });
  // Every destination at the configured level (multistream's own default is info: debug lines would never reach a
  // file; `silent`: none), the security log file's at info at the most (security-lines.ts).
  const floored = new Set<object>(files ? [files.security] : []);
  for (const entry of streams) (entry as { level?: string }).level = destinationLevel(level, floored.has(entry.stream));
  const multi = pino.multistream(streams);
  const levels = levelTracking(multi, floored);
  const options: pino.LoggerOptions = {
    base: { service: "kai" },
    // trace_id and span_id of the active span on every line written inside a traced request or step (tracing/spans.ts),
    // and the id of the request being served on every line written while serving it (request-scope.ts).
    mixin: (_line, _level, writer) => {
      const ids = activeTraceIds();
      const request = requestScopeFields(writer);
      return request.requestId === undefined ? ids : { ...ids, ...request };
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    // Errors are logged by name, code and message only: stack traces stay out of logs by rule.
    serializers: { err: (error: Error & { code?: string }) => ({ type: error.name, code: error.code, message: error.message }) },
  };
  const logger = pino(
    {
      ...options,
      level,
      // Children are remembered so that a level changed at run time reaches them (logging/log-level.ts).
      onChild: levels.onChild,
    },
    multi,
  );
  levels.adopt(logger);
  tails.set(logger, tail);
  return {
    logger,
    securityLogger: files ? createSecurityLogger(options, multi) : logger,
    tail,
    async flush() {
      await files?.flush();
    },
    failingFiles: () => files?.failing() ?? [],
  };
}
