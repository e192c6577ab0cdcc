/**
 * @module logging/cluster-log-relay
 * The log lines of a node of several instances, read from any one of them (`GET /api/logs`, its stream, `kai logs
 * tail`, the web app's Console). Each instance keeps its own lines in memory (log-tail.ts); behind a load balancer an
 * operator would otherwise see whichever instance the request reached, and `--request <id>` would miss a request
 * another instance served. The instance answering asks the others through the cluster's signals:
 *
 * - `log_lines_wanted { ask, filter, recent }`: each other instance answers its newest matching lines as `log_lines
 *   { ask, instance, lines, done: true }`, in chunks; the asker waits until every live instance answered, or
 *   `RECENT_WAIT_MS`, and says which did not (`unanswered`).
 * - `log_lines_wanted { ask, filter, search: { limit, until } }`: each other instance searches its own log files
 *   (log-search.ts) and answers its newest matches as for `recent`, what it read in the last signal; the asker waits up
 *   to `SEARCH_WAIT_MS` (`kai logs search` behind a load balancer finds a line whichever instance wrote it).
 * - `log_lines_wanted { ask, filter, followMs }`: for that long (the asker renews it while its stream is open, and
 *   sends `followMs: 0` when it closes), each other instance sends its new matching lines every `FLUSH_MS`. A
 *   duration, not an instant: it means the same on machines whose clocks disagree.
 *
 * Either ask may name the instances it is for (`only`, their ids: `kai logs tail --instance <name>`); the others
 * ignore it, and the asker ignores answers from instances it did not ask (an instance older than `only` answers all).
 * A filter's `since`, `traceId` and `log` travel beside the filter, not in it: an instance older than one refuses a filter
 * with a field it does not know, but ignores one beside it, and the asker drops the lines such an instance sends that
 * they would have left out (older lines, other traces', other logs'). Any filter field added later travels the same way.
 *
 * Why signals and not a call to each instance's HTTP address: signals already reach every live instance with no
 * address, certificate or credential to configure (they are the shared database's log), and the lines asked for are
 * few (filtered at the source, capped per flush). They are the lines already redacted by the logger and scrubbed by
 * the tail; they stay in the signal log until it is pruned (after 10 minutes).
 *
 * Bounded on both sides: a signal carries at most `MAX_SIGNAL_BYTES` (a line too long is cut to its message), an
 * answer to `recent` at most `MAX_RECENT_SIGNALS` signals (the newest lines), a follower at most
 * `MAX_SIGNALS_PER_FLUSH` signals per flush and `MAX_BUFFERED` lines between flushes; what is left out is counted and
 * reported as skipped (a stream's `gap` event names the instance).
 */
import { randomUUID } from "node:crypto";
import { LogEntrySchema, LogFilterSchema, LogNameSchema, TimestampSchema, TraceIdSchema, type LogEntry, type LogFilesSearched, type LogFilter } from "@kai/protocol";
import { z } from "zod";
import { MAX_SIGNAL_BYTES, type ClusterMember, type ClusterSignals } from "../cluster/cluster-types.js";
import { InstanceAsks } from "../cluster/instance-asks.js";
import type { Logger } from "./logger.js";
import { matches, type LogTail } from "./log-tail.js";
import type { LogSearchFilter, LogSearchResult } from "./log-search.js";

/** How long a list waits for the other instances' recent lines. */
export const RECENT_WAIT_MS = 1500;
/** How long a file search waits for the other instances' answers (each reads its own files: seconds, not ms). */
export const SEARCH_WAIT_MS = 30_000;
/** A follow lasts this long unless renewed; the asker renews it at a third of it. */
export const FOLLOW_LEASE_MS = 30_000;
/** How often a following instance sends its new lines. */
export const FLUSH_MS = 250;
/** Signals one instance sends for one `recent` ask (its newest lines first kept). */
const MAX_RECENT_SIGNALS = 16;
/**
 * Signals one instance sends per follower per flush; lines beyond are counted as skipped. Low: every signal is a
 * transaction in the shared database, in one order for the whole cluster (cluster/postgres/pg-signals.ts), which a
 * Console left open on a busy node must not crowd.
 */
const MAX_SIGNALS_PER_FLUSH = 2;
/** Lines a follower buffers between flushes; beyond, counted as skipped. */
const MAX_BUFFERED = 400;
/** Room in a signal for the envelope around the lines (`ask`, `instance`, `done`, `skipped`). */
const ENVELOPE_BYTES = 400;
const LINES_BYTES = MAX_SIGNAL_BYTES - ENVELOPE_BYTES;
/** A line longer than a signal can carry keeps this much of its message and no fields. */
const CUT_MESSAGE_CHARS = 1000;

const WANTED = "log_lines_wanted";
const LINES = "log_lines";

const WantedSchema = z.object({
  ask: z.string().min(1).max(64),
  filter: LogFilterSchema,
  recent: z.number().int().min(1).max(1000).optional(),
  followMs: z.number().int().min(0).max(FOLLOW_LEASE_MS).optional(),
  /** The instances (ids) asked; absent: every other one. */
  only: z.array(z.string().min(1).max(128)).min(1).max(64).optional(),
  /** The filter's `since`, `traceId` and `log` (see the module's comment). */
  since: TimestampSchema.optional(),
  traceId: TraceIdSchema.optional(),
  log: LogNameSchema.optional(),
  /** A search of each instance's log files (log-search.ts): its newest `limit` matches up to `until`. */
  search: z.object({ limit: z.number().int().min(1).max(1000), until: TimestampSchema.optional() }).optional(),
});

const LinesSchema = z.object({
  ask: z.string().min(1).max(64),
  instance: z.string().max(256),
  lines: z.array(LogEntrySchema),
  done: z.literal(true).optional(),
  skipped: z.number().int().positive().optional(),
  /** The last signal of an answer to a search: what the instance read. */
  searched: z.object({ files: z.int().nonnegative(), scannedBytes: z.int().nonnegative(), complete: z.boolean(), searchedFrom: z.string().optional() }).optional(),
});
type LinesPayload = z.infer<typeof LinesSchema>;

/** What the relay needs of the node's cluster (cluster/cluster-types.ts). */
export interface LogRelayCluster {
  readonly instanceId: string;
  readonly instanceName: string;
  readonly signals: Pick<ClusterSignals, "publish" | "subscribe">;
  members(): Promise<RelayMember[]>;
}

/** The lines of the other instances, and those that did not answer in time (by name). */
export interface RelayedLines {
  entries: LogEntry[];
  unanswered: string[];
  /**
   * When an instance had more matching lines than its answer could carry: the time of the oldest it sent (the latest
   * such time over the instances). Lines older than it are incomplete, so a merged listing starts there.
   */
  completeSince?: string;
}

/** The other instances' answers to a file search: their lines (relayed), what each read, who did not answer. */
export interface RelayedSearch {
  entries: LogEntry[];
  searched: LogFilesSearched[];
  unanswered: string[];
}

/** This instance's own file search (log-search.ts); absent when it writes no log files. */
export type SearchOwnFiles = (filter: LogSearchFilter, limit: number) => Promise<LogSearchResult>;

/** An instance as an ask names it. */
export type RelayMember = Pick<ClusterMember, "instanceId" | "name">;

/** Which instances an ask is for (`membersNamed`, read once by the caller); absent, every other live one. */
export interface AskOptions {
  only?: readonly RelayMember[];
}

/** What a follow hears: lines (already marked as relayed), or a count of lines another instance left out. */
export interface FollowListener {
  lines(entries: LogEntry[]): void;
  skipped(instance: string, count: number): void;
}

/** One asker following this instance's lines. */
interface Follower {
  filter: LogFilter;
  until: number;
  buffered: LogEntry[];
  skipped: number;
}

/** A line cut so that one signal can carry it: its level, time, message (shortened) and request id. */
function fitted(entry: LogEntry): { entry: LogEntry; bytes: number } {
  const bytes = Buffer.byteLength(JSON.stringify(entry));
  if (bytes <= LINES_BYTES) return { entry, bytes };
  const { fields: _fields, ...rest } = entry;
  const cut: LogEntry = { ...rest, msg: entry.msg.length > CUT_MESSAGE_CHARS ? `${entry.msg.slice(0, CUT_MESSAGE_CHARS)}…` : entry.msg, fields: { truncated: true } };
  return { entry: cut, bytes: Buffer.byteLength(JSON.stringify(cut)) };
}

/** Lines in chunks a signal can carry, oldest first. */
function chunked(entries: readonly LogEntry[]): LogEntry[][] {
  const chunks: LogEntry[][] = [];
  let current: LogEntry[] = [];
  let size = 0;
  for (const original of entries) {
    const { entry, bytes } = fitted(original);
    if (current.length > 0 && size + bytes + 1 > LINES_BYTES) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += bytes + 1;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export class ClusterLogRelay {
  /** This instance's asks of the others, and their answers (cluster/instance-asks.ts). */
  private readonly asks: InstanceAsks<LinesPayload>;
  /** Askers following this instance's lines, by ask id. */
  private readonly followers = new Map<string, Follower>();
  private stopTail: (() => void) | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly offs: Array<() => void>;
  /** True after a publication failed, until one succeeds: one warning per outage, not one per flush. */
  private failing = false;
  /** A flush still publishing: the next tick waits for it, so one follower's signals go out in order. */
  private flushing = false;
  /** Closed with the node: nothing more is published (a stream ending at shutdown must not warn). */
  private closed = false;

  constructor(
    private readonly cluster: LogRelayCluster,
    private readonly tail: LogTail,
    private readonly logger: Logger,
    private readonly searchOwnFiles?: SearchOwnFiles,
  ) {
    this.asks = new InstanceAsks(cluster.signals, LINES, LinesSchema);
    this.offs = [
      cluster.signals.subscribe(WANTED, (payload, meta) => {
        if (!meta.fromSelf) this.wanted(payload);
      }),
    ];
  }

  /** This instance's name, which its own lines carry on a node of several instances. */
  get instanceName(): string {
    return this.cluster.instanceName;
  }

  /**
   * The other live instances named `name` (names are an operator's choice: two may share one), or `undefined` when
   * the cluster's database cannot be reached (nobody can tell then which instances are live).
   */
  async membersNamed(name: string): Promise<RelayMember[] | undefined> {
    const others = await this.otherMembers();
    return others?.filter((member) => member.name === name);
  }

  /** The other live instances; `undefined` (and one warning) when the cluster's database cannot be reached. */
  private async otherMembers(): Promise<RelayMember[] | undefined> {
    try {
      return (await this.cluster.members()).filter((member) => member.instanceId !== this.cluster.instanceId);
    } catch (error) {
      this.troubled(error);
      return undefined;
    }
  }

  /**
   * The other live instances' newest `limit` matching lines each (marked relayed), oldest first per instance; with
   * `only`, those instances' alone. When the cluster's database cannot be reached, none (and one warning): this
   * instance's own lines are then what is left to read, and the listing must not fail for want of the others'.
   */
  async recent(filter: LogFilter, limit: number, options: AskOptions & { waitMs?: number } = {}): Promise<RelayedLines> {
    let completeSince: string | undefined;
    const asked = await this.askOthers(filter, { recent: limit }, options.only, options.waitMs ?? RECENT_WAIT_MS, (payload) => {
      // The first signal of a cut answer says how many lines were left out, and starts with the oldest line sent.
      const oldest = payload.lines[0]?.time;
      if (payload.skipped !== undefined && oldest !== undefined && (completeSince === undefined || oldest > completeSince)) completeSince = oldest;
    });
    return { entries: asked.entries, unanswered: asked.unanswered, ...(completeSince !== undefined ? { completeSince } : {}) };
  }

  /**
   * The other live instances' (with `only`, those instances') newest `limit` matching lines of their log files, each
   * instance searching its own: its lines (marked relayed), what it read, and those that did not answer in time.
   */
  async search(filter: LogFilter, limit: number, until: string | undefined, options: AskOptions & { waitMs?: number } = {}): Promise<RelayedSearch> {
    const searched: LogFilesSearched[] = [];
    const asked = await this.askOthers(filter, { search: { limit, ...(until !== undefined ? { until } : {}) } }, options.only, options.waitMs ?? SEARCH_WAIT_MS, (payload) => {
      if (payload.done && payload.searched) searched.push({ instance: payload.instance, ...payload.searched });
    });
    return { entries: asked.entries, searched, unanswered: asked.unanswered };
  }

  /**
   * One ask of the other live instances (or `only` those) and their answers, until each sent its last signal or
   * `waitMs` passed: their lines (marked relayed, kept by the filters beside the filter), each signal also shown to
   * `heard`, and those that did not answer, by name.
   */
  private async askOthers(
    filter: LogFilter,
    what: { recent: number } | { search: { limit: number; until?: string } },
    only: readonly RelayMember[] | undefined,
    waitMs: number,
    heard: (payload: LinesPayload) => void,
  ): Promise<{ entries: LogEntry[]; unanswered: string[] }> {
    const others = only ?? (await this.otherMembers());
    if (others === undefined) return { entries: [], unanswered: [] };
    const entries: LogEntry[] = [];
    const publish = (ask: string) => this.publish({ ask, ...onTheWire(filter), ...what, ...(only ? { only: only.map((member) => member.instanceId) } : {}) });
    const unanswered = await this.asks.gather(others, publish, waitMs, (payload) => {
      heard(payload);
      for (const line of keptBeside(payload.lines, filter)) entries.push(relayed(line, payload.instance));
    });
    return { entries, unanswered };
  }

  /**
   * Hears the other instances' new matching lines (with `only`, those instances' alone) until the returned function is
   * called (once counts; again does nothing).
   */
  follow(filter: LogFilter, listener: FollowListener, options: AskOptions = {}): () => void {
    const ask = randomUUID();
    const ids = options.only?.map((member) => member.instanceId);
    const asked = ids ? new Set(ids) : undefined;
    const only = ids ? { only: ids } : {};
    const stopListening = this.asks.listen(ask, (payload, origin) => {
      if (asked && !asked.has(origin)) return;
      const lines = keptBeside(payload.lines, filter);
      if (lines.length > 0) listener.lines(lines.map((line) => relayed(line, payload.instance)));
      if (payload.skipped !== undefined) listener.skipped(payload.instance, payload.skipped);
    });
    const wire = onTheWire(filter);
    const renew = () => void this.publish({ ask, ...wire, followMs: FOLLOW_LEASE_MS, ...only });
    renew();
    const renewal = setInterval(renew, FOLLOW_LEASE_MS / 3);
    renewal.unref();
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      clearInterval(renewal);
      stopListening();
      // Told at once, so the others stop sending; if this is lost, their follow lapses with its lease.
      void this.publish({ ask, ...wire, followMs: 0, ...only });
    };
  }

  close(): void {
    this.closed = true;
    for (const off of this.offs) off();
    this.asks.close();
    this.followers.clear();
    this.idle();
  }

  // ---- the answering side ----

  private wanted(payload: Record<string, unknown>): void {
    const parsed = WantedSchema.safeParse(payload);
    if (!parsed.success) return;
    const { ask, recent, followMs, only, search } = parsed.data;
    const filter: LogFilter = { ...parsed.data.filter, ...besideOf(parsed.data) };
    if (only && !only.includes(this.cluster.instanceId)) return;
    if (recent !== undefined) void this.answerRecent(ask, filter, recent);
    if (search !== undefined) void this.answerSearch(ask, filter, search.limit, search.until);
    if (followMs === undefined) return;
    if (followMs === 0) {
      this.followers.delete(ask);
      if (this.followers.size === 0) this.idle();
      return;
    }
    const known = this.followers.get(ask);
    // On this machine's clock.
    const until = Date.now() + followMs;
    if (known) known.until = until;
    else this.followers.set(ask, { filter, until, buffered: [], skipped: 0 });
    this.listen();
  }

  private async answerRecent(ask: string, filter: LogFilter, limit: number): Promise<void> {
    await this.answer(ask, this.tail.list({ ...filter, limit }));
  }

  /** Searches this instance's files and answers as `answerRecent` does, what it read in the last signal. */
  private async answerSearch(ask: string, filter: LogFilter, limit: number, until: string | undefined): Promise<void> {
    let found: LogSearchResult = { entries: [], files: 0, scannedBytes: 0, complete: true };
    try {
      if (this.searchOwnFiles) found = await this.searchOwnFiles({ ...filter, ...(until !== undefined ? { until } : {}) }, limit);
    } catch (error) {
      this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "searching this instance's log files for another instance failed");
    }
    await this.answer(ask, found.entries, (skipped, oldestSent) => {
      // Lines the signals could not carry make the answer incomplete from the oldest line sent.
      const searchedFrom = skipped > 0 ? oldestSent : found.searchedFrom;
      return { searched: { files: found.files, scannedBytes: found.scannedBytes, complete: found.complete && skipped === 0, ...(searchedFrom !== undefined ? { searchedFrom } : {}) } };
    });
  }

  /**
   * Sends `entries` as the answer to `ask`: in signals a signal can carry, at most `MAX_RECENT_SIGNALS` of them (the
   * newest lines kept; the first says how many older ones were left out), the last marked `done` and carrying what
   * `last` adds.
   */
  private async answer(ask: string, entries: readonly LogEntry[], last?: (skipped: number, oldestSent: string | undefined) => Record<string, unknown>): Promise<void> {
    const chunks = chunked(entries);
    const sent = chunks.slice(-MAX_RECENT_SIGNALS);
    const skipped = chunks.slice(0, chunks.length - sent.length).reduce((sum, chunk) => sum + chunk.length, 0);
    if (sent.length === 0) sent.push([]);
    const closing = { done: true, ...last?.(skipped, sent[0]?.[0]?.time) };
    for (const [index, lines] of sent.entries()) {
      await this.publish({ ask, instance: this.cluster.instanceName, lines, ...(index === sent.length - 1 ? closing : {}), ...(index === 0 && skipped > 0 ? { skipped } : {}) });
    }
  }

  /** Listens to this instance's lines while anyone follows them. */
  private listen(): void {
    if (this.stopTail) return;
    this.stopTail = this.tail.subscribe((entry) => {
      for (const follower of this.followers.values()) {
        if (!matches(entry, follower.filter)) continue;
        if (follower.buffered.length >= MAX_BUFFERED) follower.skipped++;
        else follower.buffered.push(entry);
      }
    });
    this.flushTimer = setInterval(() => {
      if (this.flushing) return;
      this.flushing = true;
      void this.flush().finally(() => (this.flushing = false));
    }, FLUSH_MS);
    this.flushTimer.unref();
  }

  private idle(): void {
    this.stopTail?.();
    this.stopTail = null;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
  }

  private async flush(): Promise<void> {
    const now = Date.now();
    for (const [ask, follower] of this.followers) {
      if (follower.until <= now) {
        this.followers.delete(ask);
        continue;
      }
      if (follower.buffered.length === 0 && follower.skipped === 0) continue;
      const chunks = chunked(follower.buffered);
      follower.buffered = [];
      const sent = chunks.slice(0, MAX_SIGNALS_PER_FLUSH);
      let skipped = follower.skipped + chunks.slice(sent.length).reduce((sum, chunk) => sum + chunk.length, 0);
      follower.skipped = 0;
      if (sent.length === 0) sent.push([]);
      for (const lines of sent) {
        await this.publish({ ask, instance: this.cluster.instanceName, lines, ...(skipped > 0 ? { skipped } : {}) });
        skipped = 0;
      }
    }
    if (this.followers.size === 0) this.idle();
  }

  private async publish(payload: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    try {
      await this.cluster.signals.publish(payload["lines"] !== undefined ? LINES : WANTED, payload);
      if (this.failing) this.logger.info("log lines reach the other instances again");
      this.failing = false;
    } catch (error) {
      this.troubled(error);
    }
  }

  /** One warning per outage (the next success says it is over). */
  private troubled(error: unknown): void {
    if (!this.failing && !this.closed) this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "log lines could not be exchanged with the other instances; until they can, each shows its own");
    this.failing = true;
  }
}

/** The filter's fields an ask carries beside it (see the module's comment). */
type Beside = Pick<LogFilter, "since" | "traceId" | "log">;

/** `filter`'s fields that travel beside it, those it has. */
function besideOf(filter: LogFilter): Beside {
  const { since, traceId, log } = filter;
  return { ...(since !== undefined ? { since } : {}), ...(traceId !== undefined ? { traceId } : {}), ...(log !== undefined ? { log } : {}) };
}

/** A filter as an ask carries it: `since`, `traceId` and `log` beside it (see the module's comment). */
function onTheWire(filter: LogFilter): { filter: Omit<LogFilter, keyof Beside> } & Beside {
  const { since: _since, traceId: _traceId, log: _log, ...rest } = filter;
  return { filter: rest, ...besideOf(filter) };
}

/**
 * The lines of an answer the asker keeps: those that pass the filters carried beside the filter (an instance that
 * predates `since` sends older lines, one that predates `traceId` other traces' lines, one that predates `log` every
 * log's lines).
 */
function keptBeside(lines: readonly LogEntry[], filter: LogFilter): readonly LogEntry[] {
  const beside = besideOf(filter);
  if (Object.keys(beside).length === 0) return lines;
  return lines.filter((line) => matches(line, beside));
}

function relayed(entry: LogEntry, instance: string): LogEntry {
  return { ...entry, instance, relayed: true };
}
