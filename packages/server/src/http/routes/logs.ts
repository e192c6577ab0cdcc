/**
 * @module http/routes/logs
 * `GET /api/logs` (the recent lines, filtered) and `GET /api/logs/stream` (the same, live, as server-sent events),
 * scope admin. Both read the logger's in-memory ring (logging/log-tail.ts): lines already redacted by the logger,
 * never the log files (logging/log-files.ts). The stream starts with the kept lines after `after` (or `Last-Event-ID`, so an EventSource
 * that reconnects resumes where it stopped), then follows; a client that reads too slowly is told how many lines
 * it missed (`event: gap`) rather than holding the node's memory. A stream ends when the caller's token expires (ten
 * minutes at most), so that access is checked again on the reconnect.
 *
 * On a node of several instances (`relay`), every line carries its instance's name, and `instances: all` (the
 * default) adds the other live instances' lines through the cluster (logging/cluster-log-relay.ts): the list merges
 * their newest lines by time; the stream relays their new lines live, without an SSE `id:` (a stream resumes from the
 * answering instance's own `seq`). `traceId` reads one trace's lines (those written inside its traced requests and
 * steps), and the list says where the node's traces are shown (`traceUrl`, from `tracing.traceUrl`), for the Console's
 * links. `instance=<name>` reads one instance's lines: the answering one's own, or another
 * live one's through the relay (only it is asked); a name no live instance has is a 404. `GET /api/logs/search` reads
 * the log files instead (logging/log-search.ts), each instance its own, with the same choice of instances.
 */
import { SseStream } from "../sse-stream.js";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ApiError } from "../../errors.js";
import {
  ErrorBodySchema,
  LOG_STREAM_EVENTS,
  LogListResponseSchema,
  LogQuerySchema,
  LogSearchQuerySchema,
  LogSearchResponseSchema,
  LogStreamQuerySchema,
  type LogEntry,
  type LogFilter,
} from "@kai/protocol";
import { mergeSearches, searchLogFiles } from "../../logging/log-search.js";
import { byTime, matches, type LogTail } from "../../logging/log-tail.js";
import type { ClusterLogRelay, RelayMember } from "../../logging/cluster-log-relay.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema, 503: ErrorBodySchema };
/** Bytes a slow client may have queued before further lines are skipped (and counted in a gap event). */
const MAX_QUEUED_BYTES = 1024 * 1024;
/** A line's event; a relayed line has no `id:`, so `Last-Event-ID` stays a `seq` of the answering instance. */
const frame = (entry: LogEntry) => `${entry.relayed ? "" : `id: ${entry.seq}\n`}event: ${LOG_STREAM_EVENTS.log}\ndata: ${JSON.stringify(entry)}\n\n`;
const gapFrame = (skipped: number, instance?: string) => `event: ${LOG_STREAM_EVENTS.gap}\ndata: ${JSON.stringify(instance === undefined ? { skipped } : { skipped, instance })}\n\n`;

/** This instance's line as the API shows it: with the instance's name on a node of several instances. */
type Tagger = (entry: LogEntry) => LogEntry;

/** One client's stream: the backlog, then every matching line as it is written. */
class LogStream extends SseStream {
  private skipped = 0;
  private readonly stop: () => void;

  constructor(tail: LogTail, filter: LogFilter, after: number | undefined, endAt: number, tag: Tagger, source: LineSource) {
    super(endAt);
    let stopLocal: (() => void) | undefined;
    if (source.own) {
      // A resume from a line the ring no longer holds: say how many are gone.
      if (after !== undefined && after + 1 < tail.oldestSeq) this.push(gapFrame(tail.oldestSeq - after - 1));
      for (const entry of tail.list({ ...filter, after })) this.push(frame(tag(entry)));
      stopLocal = tail.subscribe((entry) => {
        if (matches(entry, filter)) this.send(tag(entry));
      });
    }
    const stopRelay = source.relay?.follow(filter, {
      lines: (entries) => {
        for (const entry of entries) this.send(entry);
      },
      skipped: (instance, count) => {
        if (!this.destroyed && !this.readableEnded) this.push(gapFrame(count, instance));
      },
    }, source.only ? { only: source.only } : {});
    this.stop = () => {
      stopLocal?.();
      stopRelay?.();
    };
  }

  protected expire(): void {
    this.finish();
  }

  override _read(): void {
    // Lines are pushed as they are written; nothing to pull.
  }

  /** Ends the stream (the node is closing). */
  finish(): void {
    this.release();
    if (!this.destroyed) this.push(null);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    callback(error);
  }

  private send(entry: LogEntry): void {
    if (this.destroyed || this.readableEnded) return;
    if (this.readableLength > MAX_QUEUED_BYTES) {
      this.skipped++;
      return;
    }
    if (this.skipped > 0) {
      this.push(gapFrame(this.skipped));
      this.skipped = 0;
    }
    this.push(frame(entry));
  }

  private release(): void {
    this.stopTimers();
    // finish() then the close's destroy both release: the tail's and the relay's stops may be called twice.
    this.stop();
  }
}

/** `Last-Event-ID` (an EventSource reconnecting) when the query names no `after`. */
function resumeFrom(query: number | undefined, header: string | string[] | undefined): number | undefined {
  if (query !== undefined) return query;
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}

/**
 * Whose lines a request reads: this instance's own (`own`), and other instances' through the relay (every other live
 * one, or `only` those).
 */
interface LineSource {
  own: boolean;
  relay: ClusterLogRelay | null;
  only?: RelayMember[];
}

/**
 * `relay`: the other instances' lines, on a node of several instances; null in one process. `instanceName`: this
 * instance's name, which `instance=<name>` is compared with.
 */
/** This instance's log files, for `GET /api/logs/search`: the `system/` folder, or undefined when `logging.file` is off. */
export interface LogFilesSource {
  systemDir: string | undefined;
  /** Bytes one search reads at most (log-search.ts). */
  maxBytes?: number;
}

export function logsRoutes(
  tail: LogTail,
  relay: ClusterLogRelay | null,
  instanceName: () => string | Promise<string>,
  traceUrl: () => string | undefined = () => undefined,
  files: LogFilesSource = { systemDir: undefined },
): FastifyPluginAsyncZod {
  const tag: Tagger = relay ? (entry) => ({ ...entry, instance: relay.instanceName }) : (entry) => entry;
  /** The lines `instances` and `instance` ask for (the answering instance's own when there is no relay). */
  const sourceOf = async (instances: "all" | "this", instance: string | undefined): Promise<LineSource> => {
    if (instance === undefined) return { own: true, relay: instances === "all" ? relay : null };
    if (instance === (relay ? relay.instanceName : await instanceName())) return { own: true, relay: null };
    const only = relay ? await relay.membersNamed(instance) : [];
    if (only === undefined) throw new ApiError("storage_unavailable", "which instances are live cannot be told now (the cluster's database does not answer); without instance, this instance's own lines are listed");
    if (only.length === 0) throw new ApiError("not_found", `no live instance is named "${instance}" (GET /api/cluster and kai cluster list them)`);
    return { own: false, relay, only };
  };
  return async (app) => {
    const open = new Set<LogStream>();
    // Streams never end by themselves: end them when the node closes, so shutdown does not wait for them.
    app.addHook("preClose", async () => {
      for (const stream of open) stream.finish();
    });

    app.get("/api/logs", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "The node's recent log lines (in-memory ring, already redacted), oldest first; filters: level (minimum), requestId, taskId, serviceId, traceId, q (text), since, log (security or agents: the lines of that log); `traceUrl`: where a trace is shown (tracing.traceUrl); on a node of several instances, every live instance's lines unless instances=this; instance=<name>: that instance's only (404 when no live instance has the name)",
        security: [{ bearer: [] }],
        querystring: LogQuerySchema,
        response: { 200: LogListResponseSchema, ...errors },
      },
    }, async (request) => {
      const { instances, instance, ...query } = request.query;
      const { limit, after: _after, ...filter } = query;
      const source = await sourceOf(instances, instance);
      const own = source.own ? tail.list(query).map(tag) : [];
      const template = traceUrl();
      const answer = { capacity: tail.capacity, latestSeq: Math.max(0, tail.latestSeq), ...(template !== undefined ? { traceUrl: template } : {}) };
      // With `after`, only this instance's lines: `after` is one of its own seqs (it does not apply to another's).
      if (!source.relay || (source.own && query.after !== undefined)) return { entries: own, ...answer };
      const others = await source.relay.recent(filter, limit, source.only ? { only: source.only } : {});
      // An instance that had more lines than it could send: older lines of every instance would show a false picture.
      const since = others.completeSince;
      const entries = byTime([...own, ...others.entries]).filter((entry) => since === undefined || entry.time >= since);
      return { entries: entries.length > limit ? entries.slice(entries.length - limit) : entries, ...answer, unanswered: others.unanswered };
    });

    app.get("/api/logs/search", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "Search the log files (every line written, kept logging.rotation.retentionDays) for the newest matching lines, oldest first: for what the in-memory ring no longer holds; filters as GET /api/logs, and until; on a node of several instances each live instance searches its own (instances=this, instance=<name> as for GET /api/logs); complete: false when a search stopped at its byte budget (searchedFrom: from when every instance's files were read)",
        security: [{ bearer: [] }],
        querystring: LogSearchQuerySchema,
        response: { 200: LogSearchResponseSchema, ...errors },
      },
    }, async (request) => {
      const { limit, instances, instance: named, until, ...filter } = request.query;
      if (filter.since !== undefined && until !== undefined && Date.parse(filter.since) > Date.parse(until)) {
        throw new ApiError("validation_failed", "since is after until", [{ path: "querystring.until", message: "must not be before since" }]);
      }
      const source = await sourceOf(instances, named);
      const answering = relay ? relay.instanceName : await instanceName();
      // One instance alone (or this one asked for) without files: nothing to search, said plainly.
      if (source.own && files.systemDir === undefined && !source.relay) throw new ApiError("not_found", "this instance writes no log files (logging.file: false): GET /api/logs reads its recent lines");
      const window = { ...filter, ...(until !== undefined ? { until } : {}) };
      const [own, others] = await Promise.all([
        source.own && files.systemDir !== undefined ? searchLogFiles(files.systemDir, window, limit, files.maxBytes) : undefined,
        source.relay ? source.relay.search(filter, limit, until, source.only ? { only: source.only } : {}) : undefined,
      ]);
      const { searched, ...merged } = mergeSearches(own ? { instance: answering, ...own, entries: own.entries.map(tag) } : undefined, others, limit);
      const template = traceUrl();
      return {
        ...merged,
        instance: answering,
        // Each instance's figures on a node of several (on one, the totals are its own).
        ...(source.relay ? { searched, unanswered: others?.unanswered ?? [] } : {}),
        ...(template !== undefined ? { traceUrl: template } : {}),
      };
    });

    app.get("/api/logs/stream", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "The node's log lines live, as server-sent events (`event: log`, `id:` = seq; `event: gap` when lines were skipped); resumes after `after` or Last-Event-ID; on a node of several instances, the others' new lines too unless instances=this; instance=<name>: that instance's only (another's from its next line on)",
        security: [{ bearer: [] }],
        querystring: LogStreamQuerySchema,
        response: { 200: z.string().describe("text/event-stream"), ...errors },
      },
    }, async (request, reply) => {
      const { after, instances, instance, ...filter } = request.query;
      const source = await sourceOf(instances, instance);
      const stream = new LogStream(tail, filter, resumeFrom(after, request.headers["last-event-id"]), principalOf(request).expiresAt, tag, source);
      open.add(stream);
      stream.once("close", () => open.delete(stream));
      reply.raw.once("close", () => stream.destroy());
      reply.header("content-type", "text/event-stream; charset=utf-8").header("cache-control", "no-cache").header("x-accel-buffering", "no");
      return reply.send(stream as unknown as string);
    });
  };
}
