/**
 * @module logs
 * `client.logs`: the node's recent log lines (`GET /api/logs`) and their live stream (`GET /api/logs/stream`,
 * server-sent events), scope `admin`. Lines are already redacted by the node. The stream is an async iterable of
 * events that ends when the node ends it; resume with `after` set to the last `seq` seen (a `gap` event says how
 * many lines were skipped in between). Both take the same filters: `level` (minimum), `requestId`, `taskId`,
 * `serviceId`, `traceId`, `q` (text), `since` and `log` (`security` or `agents`: that log's lines).
 *
 * On a node of several instances every line names its `instance`, and both read every live instance's lines unless
 * `instances: "this"`. A line another instance wrote is `relayed`: its `seq` is that instance's, so resume from the
 * `seq` of the last line that is not relayed.
 */
import {
  LOG_STREAM_EVENTS,
  LogEntrySchema,
  LogGapSchema,
  LogListResponseSchema,
  LogSearchResponseSchema,
  parseJson,
  type LogEntry,
  type LogListResponse,
  type LogQueryInput,
  type LogSearchQueryInput,
  type LogSearchResponse,
  type LogStreamQueryInput,
} from "@kai/protocol";
import { KaiApiError } from "./errors.js";
import type { HttpTransport } from "./http-transport.js";
import { sseMessages, type EventSourceMessage } from "./sse.js";

/** A gap's `instance`: another instance than the one answering left lines out (on a node of several instances). */
export type LogStreamEvent = { type: "log"; entry: LogEntry } | { type: "gap"; skipped: number; instance?: string };

export interface LogsClient {
  /** The newest matching lines the node keeps, oldest first. */
  list(query?: LogQueryInput, options?: { signal?: AbortSignal }): Promise<LogListResponse>;
  /**
   * Searches the log files of the instance answering for the newest matching lines (older than the in-memory lines
   * `list` reads): filters as `list`, and `until`; `complete` false when the node stopped at its read budget.
   */
  search(query?: LogSearchQueryInput, options?: { signal?: AbortSignal }): Promise<LogSearchResponse>;
  /** Follows the log: the kept lines after `after` (all when absent), then each new one. Cancel with `signal`. */
  stream(query?: LogStreamQueryInput, options?: { signal?: AbortSignal }): Promise<AsyncIterable<LogStreamEvent>>;
}

function eventOf(message: EventSourceMessage): LogStreamEvent | undefined {
  if (message.event !== LOG_STREAM_EVENTS.log && message.event !== LOG_STREAM_EVENTS.gap) return undefined; // a later kind: skipped
  const json = parseJson(message.data);
  if (message.event === LOG_STREAM_EVENTS.log) {
    const entry = json.ok ? LogEntrySchema.safeParse(json.value) : undefined;
    if (!entry?.success) throw new KaiApiError({ status: 200, code: "invalid_response", message: "the log stream sent a line that does not match the protocol" });
    return { type: "log", entry: entry.data };
  }
  const gap = json.ok ? LogGapSchema.safeParse(json.value) : undefined;
  if (!gap?.success) throw new KaiApiError({ status: 200, code: "invalid_response", message: "the log stream sent a gap that does not match the protocol" });
  return { type: "gap", skipped: gap.data.skipped, ...(gap.data.instance !== undefined ? { instance: gap.data.instance } : {}) };
}

async function* readEvents(response: Response): AsyncGenerator<LogStreamEvent> {
  for await (const message of sseMessages(response)) {
    const event = eventOf(message);
    if (event) yield event;
  }
}

export function createLogsClient(http: HttpTransport): LogsClient {
  return {
    async list(query = {}, options = {}) {
      return (await http.request("GET", "/api/logs", { query: { ...query }, schema: LogListResponseSchema, ...(options.signal ? { signal: options.signal } : {}) })).data;
    },
    async search(query = {}, options = {}) {
      // A search reads files: it may take longer than a call's usual timeout.
      return (await http.request("GET", "/api/logs/search", { query: { ...query }, schema: LogSearchResponseSchema, timeoutMs: 120_000, ...(options.signal ? { signal: options.signal } : {}) })).data;
    },
    async stream(query = {}, options = {}) {
      const response = await http.stream("GET", "/api/logs/stream", { query: { ...query }, ...(options.signal ? { signal: options.signal } : {}) });
      return readEvents(response);
    },
  };
}
