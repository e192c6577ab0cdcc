/**
 * @module logging/log-tail
 * The node's recent log lines, in memory, for `GET /api/logs` and its live stream: a bounded ring fed by the
 * logger as one more destination, so it holds exactly what the logger wrote, after pino's redaction. It never
 * grows: the oldest line leaves when a new one arrives, and an over-long line is cut to its message.
 *
 * As a second line of defence (the logger already keeps headers, query strings and secret fields out), anything
 * shaped like a bearer token or a JWT is scrubbed from a line before it is kept: a log line shown in a browser
 * must never hand out a credential even if some future log call put one there.
 */
import { LOG_LEVELS, parseJson, type LogEntry, type LogFilter, type LogLevel } from "@kai/protocol";
import { belongsIn } from "./log-routing.js";

/** Lines kept by default (a few minutes of a busy node; about 1 MiB at typical line sizes). */
export const DEFAULT_LOG_TAIL_CAPACITY = 2000;
/** A line longer than this keeps its level, time, message and request id only. */
const MAX_LINE_CHARS = 8 * 1024;
const CENSOR = "[redacted]";

/** pino's numeric levels. */
const LEVEL_NAMES: Record<number, LogLevel> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
const LEVEL_RANK = new Map<LogLevel, number>(LOG_LEVELS.map((level, index) => [level, index]));

/** JWTs (header.payload.signature, base64url, header starting `{"`) and the value after `Bearer `. */
const SECRET_SHAPES = [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const shape of SECRET_SHAPES) out = out.replace(shape, (match, scheme?: string) => (typeof scheme === "string" && /^(bearer|basic)$/i.test(scheme) ? `${scheme} ${CENSOR}` : CENSOR));
  return out;
}

export type LogListener = (entry: LogEntry) => void;

export class LogTail {
  /**
   * Each kept line as written, parsed (and scrubbed) only when someone reads it: logging is on every request's path,
   * reading the log is rare, so a line nobody reads costs one array slot, not a JSON parse. Parsed once, then kept.
   * A slot whose line is not a pino line holds `null`.
   */
  private readonly ring: (string | LogEntry | null | undefined)[];
  /** The `seq` the next line gets; also how many lines were written. */
  private next = 0;
  private readonly listeners = new Set<LogListener>();

  constructor(readonly capacity: number = DEFAULT_LOG_TAIL_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError("the log tail needs a capacity of at least one line");
    this.ring = new Array<string | LogEntry | null | undefined>(capacity);
  }

  /** pino's destination interface: one serialised line (or several, newline-separated) per call. */
  write(chunk: string): boolean {
    for (const line of chunk.split("\n")) if (line) this.add(line);
    return true;
  }

  /** The newest `seq` written, or -1 when nothing was. */
  get latestSeq(): number {
    return this.next - 1;
  }

  /** The oldest `seq` still in the ring. */
  get oldestSeq(): number {
    return Math.max(0, this.next - this.capacity);
  }

  /** Matching lines after `after` (all kept lines when absent), oldest first, at most the newest `limit`. */
  list(filter: LogFilter & { after?: number | undefined; limit?: number | undefined } = {}): LogEntry[] {
    const from = Math.max(this.oldestSeq, filter.after === undefined ? 0 : filter.after + 1);
    const out: LogEntry[] = [];
    for (let seq = from; seq < this.next; seq++) {
      const entry = this.entryAt(seq);
      if (entry && matches(entry, filter)) out.push(entry);
    }
    return filter.limit !== undefined && out.length > filter.limit ? out.slice(out.length - filter.limit) : out;
  }

  /** Calls `listener` with every line written from now on; returns the unsubscribe function. */
  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The line at `seq` as an entry (parsed now if no one read it before); undefined when it is not a log line. */
  private entryAt(seq: number): LogEntry | undefined {
    const slot = seq % this.capacity;
    const kept = this.ring[slot];
    if (typeof kept !== "string") return kept ?? undefined;
    const entry = parseLine(kept, seq) ?? null;
    this.ring[slot] = entry;
    return entry ?? undefined;
  }

  private add(line: string): void {
    const seq = this.next++;
    this.ring[seq % this.capacity] = line;
    // Parsed at once only for live readers (the console's stream); otherwise when listed.
    if (this.listeners.size === 0) return;
    const entry = this.entryAt(seq);
    if (!entry) return;
    for (const listener of this.listeners) {
      try {
        listener(entry);
      } catch {
        // A listener's failure (a closed stream) must never break logging.
      }
    }
  }
}

/** Lines oldest first by time, then in the order given (a stable sort: one instance's lines keep their order). */
export function byTime(entries: LogEntry[]): LogEntry[] {
  return entries.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}

/**
 * Whether a line passes the filters (level minimum, request, task, service and trace ids, time, text in message or
 * fields, and the log it was also written to).
 */
export function matches(entry: LogEntry, filter: LogFilter): boolean {
  if (filter.level && (LEVEL_RANK.get(entry.level) ?? 0) < (LEVEL_RANK.get(filter.level) ?? 0)) return false;
  if (filter.requestId && entry.requestId !== filter.requestId) return false;
  if (filter.taskId && entry.fields.taskId !== filter.taskId) return false;
  if (filter.serviceId && entry.fields.serviceId !== filter.serviceId) return false;
  if (filter.traceId && entry.fields.trace_id !== filter.traceId) return false;
  // By instant, not by text: the filter's time may carry an offset, the lines' are UTC.
  if (filter.since && Date.parse(entry.time) < Date.parse(filter.since)) return false;
  if (filter.q) {
    const needle = filter.q.toLowerCase();
    const inFields = () => JSON.stringify(entry.fields).toLowerCase().includes(needle);
    if (!entry.msg.toLowerCase().includes(needle) && !(entry.requestId ?? "").toLowerCase().includes(needle) && !inFields()) return false;
  }
  // The routing rule of the log files themselves, on the line's fields as JSON: the same keys pino wrote (level, time,
  // message and request id, which the rule does not look at, are outside `fields`).
  if (filter.log && !belongsIn(filter.log, JSON.stringify(entry.fields))) return false;
  return true;
}

/** A written line as the API shows it (scrubbed, parsed, over-long parts cut); undefined when it is not a pino line. */
export function parseLine(raw: string, seq: number): LogEntry | undefined {
  const parsed = parseJson(scrubSecrets(raw));
  // Not a pino line: nothing to keep.
  if (!parsed.ok || !parsed.value || typeof parsed.value !== "object" || Array.isArray(parsed.value)) return undefined;
  // pid, hostname and service are the same on every line: left out.
  const { level, time, msg, requestId, reqId, pid: _pid, hostname: _hostname, service: _service, ...fields } = parsed.value as Record<string, unknown>;
  void [_pid, _hostname, _service];
  const id = typeof requestId === "string" ? requestId : typeof reqId === "string" ? reqId : undefined;
  const entry: LogEntry = {
    seq,
    time: typeof time === "string" ? time : new Date(typeof time === "number" ? time : Date.now()).toISOString(),
    level: (typeof level === "number" ? LEVEL_NAMES[level] : undefined) ?? "info",
    msg: typeof msg === "string" ? msg : "",
    ...(id !== undefined ? { requestId: id } : {}),
    fields: raw.length > MAX_LINE_CHARS ? { truncated: true } : fields,
  };
  if (entry.msg.length > MAX_LINE_CHARS) entry.msg = `${entry.msg.slice(0, MAX_LINE_CHARS)}…`;
  return entry;
}
