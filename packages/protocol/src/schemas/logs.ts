/**
 * @module logs
 * The node's recent log lines as the API serves them (`GET /api/logs`, `GET /api/logs/stream`, scope admin): a
 * bounded in-memory ring of what the logger wrote, already redacted by it. An operator reads what the node is
 * doing without shell access to its log file; the web app's Console shows them live.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

/** pino's level names, lowest first. A query's `level` is the minimum: `warn` gives warn, error and fatal. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
export const LogLevelSchema = z.enum(LOG_LEVELS);
export type LogLevel = z.infer<typeof LogLevelSchema>;

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
  /** Only lines whose message, request id or fields contain this text (case-insensitive). */
  q: z.string().min(1).max(200).optional(),
  /** Only lines written at or after this time (ISO 8601; `kai logs tail --since 10m`). */
  since: TimestampSchema.optional(),
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
});
export type LogListResponse = z.infer<typeof LogListResponseSchema>;

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
