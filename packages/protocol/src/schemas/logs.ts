/**
 * @module logs
 * The node's recent log lines as the API serves them (`GET /api/logs`, `GET /api/logs/stream`, scope admin): a
 * bounded in-memory ring of what the logger wrote, already redacted by it. An operator reads what the node is
 * doing without shell access to its log file; the web app's Console shows them live.
 *
 * Lines written inside a traced request or task step carry the trace's ids (`fields.trace_id`, `fields.span_id`):
 * `traceId` filters on them, so the lines of one trace (whichever of the node's instances wrote them) can be read
 * beside the trace itself, and a node with `tracing.traceUrl` says where that trace is shown (`traceUrl`).
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

/** pino's level names, lowest first. A query's `level` is the minimum: `warn` gives warn, error and fatal. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export const LogLevelSchema = z.enum(LOG_LEVELS);
export type LogLevel = z.infer<typeof LogLevelSchema>;

/**
 * A W3C Trace Context trace id (https://www.w3.org/TR/trace-context/#trace-id): 32 lowercase hex digits, not all
 * zero (the all-zero id is invalid by that spec).
 */
export const TraceIdSchema = z.string().regex(/^(?!0{32})[0-9a-f]{32}$/, "a trace id: 32 lowercase hex digits (W3C Trace Context), not all zero");

/**
 * A trace id a person gives to find something (a filter): hex in either case, lowercased. Viewers and pasted text
 * may show an id in capitals, and hex digits name the same id in either case (tracing.md); the node writes and sends
 * ids lowercase only (`TraceIdSchema`), so what is looked for is the lowercase form.
 */
export const TraceIdFilterSchema = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(TraceIdSchema);

/** One log line. `seq` grows by one per line the node wrote since it started (a stream resumes after it). */
export const LogEntrySchema = z.object({
  seq: z.number().int().nonnegative(),
  /** When the line was written (ISO 8601). */
  time: z.string(),
  level: LogLevelSchema,
  msg: z.string(),
  /** The request the line belongs to, when it belongs to one. */
  requestId: z.string().optional(),
  /** Every other field of the line (method, route, status, err…), as the logger wrote it. */
  fields: z.record(z.string(), z.unknown()),
  /** On a node of several instances: the name of the instance that wrote the line (`GET /api/cluster`'s `name`). */
  instance: z.string().optional(),
  /**
   * True on a line another instance wrote, relayed by the one answering (`instances: all`). Its `seq` counts that
   * instance's lines, not the answering one's: resume a stream (`after`) from the `seq` of lines without this flag.
   */
  relayed: z.literal(true).optional(),
});
export type LogEntry = z.infer<typeof LogEntrySchema>;

/**
 * The node's dedicated logs beside the system log (which holds every line): `security` (sign-ins, vault access, plugin
 * actions: the lines written to `logs/security/`) and `agents` (the agent mesh's lines: `logs/agents/`).
 */
export const LOG_NAMES = ["security", "agents"] as const;
export const LogNameSchema = z.enum(LOG_NAMES);
export type LogName = z.infer<typeof LogNameSchema>;

/** Filters shared by the list and the stream. */
export const LogFilterSchema = z.strictObject({
  /** Minimum level. */
  level: LogLevelSchema.optional(),
  /** Only lines of this request. */
  requestId: z.string().min(1).max(128).optional(),
  /** Only lines of this task (the agent mesh's `taskId` field: kCore's lines about it and its steps). */
  taskId: z.string().min(1).max(128).optional(),
  /**
   * Only lines about this registered service (the `serviceId` field: request lines of `/api/services/<id>…` and of the
   * gateway requests it answered, the gateway's routing, circuit breakers).
   */
  serviceId: z.string().min(1).max(256).optional(),
  /** Only lines of this trace (written inside a traced request or step: its `trace_id` field); any case, lowercased. */
  traceId: TraceIdFilterSchema.optional(),
  /** Only lines whose message, request id or fields contain this text (case-insensitive). */
  q: z.string().min(1).max(200).optional(),
  /** Only lines written at or after this time (ISO 8601; `kai logs tail --since 10m`). */
  since: TimestampSchema.optional(),
  /** Only the lines of this log: `security` or `agents`, the lines the node also writes to that log's files. */
  log: LogNameSchema.optional(),
});
export type LogFilter = z.infer<typeof LogFilterSchema>;

/**
 * Whose lines, on a node of several instances: `all` (the default) the instance answering and every other live one
 * (relayed through the cluster), `this` the answering instance's only. One instance: the same either way.
 */
export const LogInstancesSchema = z.enum(["all", "this"]);
export type LogInstances = z.infer<typeof LogInstancesSchema>;

/**
 * Only the lines of the live instance of this name (`GET /api/cluster`'s `name`; `kai cluster` lists them), on a node
 * of one instance as on many: the answering one's own name gives its lines, another live one's name its lines relayed,
 * any other name a 404. With it, `instances` does not matter.
 */
export const LogInstanceNameSchema = z.string().min(1).max(200);

/**
 * `GET /api/logs` query: the newest `limit` matching lines, optionally only those after `after` (a `seq` of the
 * answering instance: with `after`, only its lines).
 */
export const LogQuerySchema = LogFilterSchema.extend({
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  after: z.coerce.number().int().nonnegative().optional(),
  instances: LogInstancesSchema.default("all"),
  instance: LogInstanceNameSchema.optional(),
});
export type LogQuery = z.infer<typeof LogQuerySchema>;
export type LogQueryInput = z.input<typeof LogQuerySchema>;

/** `GET /api/logs/stream` query: the filters, and where to resume (also read from `Last-Event-ID`). */
export const LogStreamQuerySchema = LogFilterSchema.extend({
  after: z.coerce.number().int().nonnegative().optional(),
  /** `all`: the other instances' new lines too, live (the backlog before them is the answering instance's). */
  instances: LogInstancesSchema.default("all"),
  /**
   * Only this instance's lines. Another instance's start with its new lines (no backlog: `after` counts the answering
   * instance's lines), relayed.
   */
  instance: LogInstanceNameSchema.optional(),
});
export type LogStreamQuery = z.infer<typeof LogStreamQuerySchema>;
export type LogStreamQueryInput = z.input<typeof LogStreamQuerySchema>;

/**
 * `GET /api/logs` 200: oldest first (by time, across instances). `capacity` is how many lines the answering
 * instance's ring keeps; `latestSeq` the newest it wrote (a stream resumes after it). `unanswered`: the other live
 * instances that did not answer in time (their lines are missing), by name.
 */
export const LogListResponseSchema = z.object({
  entries: z.array(LogEntrySchema),
  capacity: z.number().int().positive(),
  latestSeq: z.number().int().nonnegative(),
  unanswered: z.array(z.string()).optional(),
  /**
   * The node's `tracing.traceUrl`: where a trace is shown (Jaeger, Tempo, …), `{traceId}` standing for the trace's id
   * (`traceLink`). Absent when not configured.
   */
  traceUrl: z.string().optional(),
});
export type LogListResponse = z.infer<typeof LogListResponseSchema>;

/**
 * `GET /api/logs/search` query: the filters, and a time window (`since`, `until`), over the log files of the instance
 * answering (`<dataDir>/logs/system/`, every line it wrote, kept `logging.rotation.retentionDays`): for lines older than
 * the in-memory ring holds, such as yesterday's trace.
 */
export const LogSearchQuerySchema = LogFilterSchema.extend({
  /** Only lines written at or before this time (ISO 8601). */
  until: TimestampSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
  /** On a node of several instances: every live instance's files (`all`, the default), or the answering one's. */
  instances: LogInstancesSchema.default("all"),
  /** Only the files of the live instance of this name. */
  instance: LogInstanceNameSchema.optional(),
});
export type LogSearchQuery = z.infer<typeof LogSearchQuerySchema>;
export type LogSearchQueryInput = z.input<typeof LogSearchQuerySchema>;

/**
 * `GET /api/logs/search` 200: the newest `limit` matching lines of the files searched, oldest first (`seq` counts the
 * lines of this answer). `complete` is false when a search stopped at its budget before the oldest file of the
 * window: `searchedFrom` is then the time from which every instance's files were read (narrow the window with
 * `since`/`until`). On a node of several instances each searches its own files, asked through the cluster as the
 * recent lines are; a line names its `instance`. `traceUrl` as in `GET /api/logs`.
 */
export const LogFilesSearchedSchema = z.object({
  instance: z.string(),
  files: z.int().nonnegative(),
  scannedBytes: z.int().nonnegative(),
  complete: z.boolean(),
  searchedFrom: z.string().optional(),
});
export type LogFilesSearched = z.infer<typeof LogFilesSearchedSchema>;

export const LogSearchResponseSchema = z.object({
  entries: z.array(LogEntrySchema),
  /** The instance that answered. */
  instance: z.string(),
  /** Over every instance searched: */
  files: z.int().nonnegative(),
  scannedBytes: z.int().nonnegative(),
  complete: z.boolean(),
  /** When not complete: the time from which every instance's files were searched. */
  searchedFrom: z.string().optional(),
  /** Each instance's own figures (on a node of several instances). */
  searched: z.array(LogFilesSearchedSchema).optional(),
  /** Live instances that did not answer in time (their lines are missing), by name. */
  unanswered: z.array(z.string()).optional(),
  traceUrl: z.string().optional(),
});
export type LogSearchResponse = z.infer<typeof LogSearchResponseSchema>;

/** The trace id a line was written under (`fields.trace_id`), when it carries a valid one. */
export function logEntryTraceId(entry: LogEntry): string | undefined {
  const value = entry.fields["trace_id"];
  return typeof value === "string" && TraceIdSchema.safeParse(value).success ? value : undefined;
}

/**
 * A trace viewer's link to one trace: `template` (`tracing.traceUrl`, e.g. `https://jaeger.example/trace/{traceId}`)
 * with each `{traceId}` replaced; undefined when the result is not an http(s) URL (a link is never made of anything
 * else, such as `javascript:`).
 */
export function traceLink(template: string, traceId: string): string | undefined {
  if (!TraceIdSchema.safeParse(traceId).success) return undefined;
  const text = template.split("{traceId}").join(traceId);
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The stream's server-sent events: `event: log` carries one `LogEntry` (its `id:` is the `seq`); `event: gap`
 * says lines were skipped (the ring had dropped them before a resume, this client read too slowly, or another
 * instance wrote more matching lines than the cluster relays), with how many. A relayed line has no `id:`.
 */
export const LOG_STREAM_EVENTS = { log: "log", gap: "gap" } as const;
export const LogGapSchema = z.object({
  skipped: z.number().int().positive(),
  /** The instance whose lines were skipped, when it is another than the one answering. */
  instance: z.string().optional(),
});
export type LogGap = z.infer<typeof LogGapSchema>;
