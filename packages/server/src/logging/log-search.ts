/**
 * @module logging/log-search
 * `GET /api/logs/search` (`kai logs search`, the Console's "Search files"): the lines of this instance's log files
 * that match a filter, for what the in-memory ring (log-tail.ts, the last 2,000 lines: minutes on a busy node) no
 * longer holds: yesterday's trace, last week's failed backup. The `system/` folder holds every line the node wrote
 * at its level (log-files.ts), `security/` and `agents/` those logs' lines (a search with `log=` reads that folder), one
 * file per day and size step, kept `logging.rotation.retentionDays`.
 *
 * Newest files first, each read forward as a stream (a chunk per turn of the event loop), until the newest `limit`
 * matches are found or the byte budget is spent: then the answer says the search is not complete and from when it
 * read. A line is parsed only when its raw text can match (the ids and the text are looked for in it first), and
 * every line goes through the same scrub and parse as the ring's, so a file line is shown exactly as the live view
 * would have shown it.
 */
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { LogEntry, LogFilesSearched, LogFilter } from "@kai/protocol";
import { dayOf, parseLogFileName } from "./log-retention.js";
import { belongsIn, type LogFolder } from "./log-routing.js";
import { byTime, matches, parseLine } from "./log-tail.js";

/** Bytes read at most per search by default: five full files at the default rotation size (50 MB). */
export const DEFAULT_SEARCH_BYTES = 256 * 1024 * 1024;

export interface LogSearchFilter extends LogFilter {
  until?: string;
}

export interface LogSearchResult {
  /** Oldest first; `seq` counts the lines of this answer. */
  entries: LogEntry[];
  files: number;
  scannedBytes: number;
  complete: boolean;
  /** When the search stopped early: the time of the oldest line it read. */
  searchedFrom?: string;
}

interface LogFile {
  path: string;
  day: string;
  index: number;
  size: number;
}

/** The files of the log `name` in `dir` inside the window's days, newest first (by day, then rotation index). */
async function filesOf(dir: string, name: LogFolder, filter: LogSearchFilter): Promise<LogFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const from = filter.since !== undefined ? dayOf(Date.parse(filter.since)) : undefined;
  const to = filter.until !== undefined ? dayOf(Date.parse(filter.until)) : undefined;
  const files: LogFile[] = [];
  for (const file of names) {
    const parsed = parseLogFileName(name, file);
    // ISO days compare as strings.
    if (!parsed || (from !== undefined && parsed.day < from) || (to !== undefined && parsed.day > to)) continue;
    try {
      files.push({ path: join(dir, file), ...parsed, size: (await stat(join(dir, file))).size });
    } catch {
      // Deleted by retention meanwhile.
    }
  }
  return files.sort((a, b) => (a.day === b.day ? b.index - a.index : a.day < b.day ? 1 : -1));
}

/** pino's numeric level of each name (a line starts `{"level":30,`). */
const LEVEL_NUMBERS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * Whether a raw line can match at all: every id asked for, and the text, appear in it, its level (read from the
 * line's start, where pino writes it) is high enough, and it went to the log asked for (log-routing.ts). Parsing is
 * the costly part: a level-only search of 100 MiB took 2.1 s parsing every line, 0.5 s like this (measured,
 * docs/operations/logs.md).
 */
function mayMatch(filter: LogSearchFilter): (line: string) => boolean {
  const needles = [filter.requestId, filter.taskId, filter.serviceId, filter.traceId].filter((value): value is string => value !== undefined);
  const text = filter.q?.toLowerCase();
  const least = filter.level !== undefined ? LEVEL_NUMBERS[filter.level] : undefined;
  return (line) => {
    if (least !== undefined) {
      const level = /^\{"level":(\d+)/.exec(line);
      if (level && Number(level[1]) < least) return false;
    }
    if (filter.log !== undefined && !belongsIn(filter.log, line)) return false;
    return needles.every((needle) => line.includes(needle)) && (text === undefined || line.toLowerCase().includes(text));
  };
}

/**
 * Searches the files of `dir` (a `system/` log folder) for the newest `limit` lines that match `filter`. A search of
 * the security or the agents' log reads that log's own folder beside it: it holds exactly those lines (the same rule
 * wrote them there), fewer bytes to read, and the security log holds them all whatever `logging.level` was, where
 * `system/` lacks the security events written while the level was above info (security-lines.ts).
 */
export async function searchLogFiles(dir: string, filter: LogSearchFilter, limit: number, maxBytes = DEFAULT_SEARCH_BYTES): Promise<LogSearchResult> {
  const folder: LogFolder = filter.log ?? "system";
  const files = await filesOf(folder === "system" ? dir : join(dirname(dir), folder), folder, filter);
  const passes = mayMatch(filter);
  // Which log a line went to is judged on its raw text by `passes` (the files' own rule, exactly): not again on the
  // parsed line.
  const { log: _log, ...parsedFilter } = filter;
  const until = filter.until !== undefined ? Date.parse(filter.until) : undefined;
  let found: LogEntry[] = [];
  let scannedBytes = 0;
  let read = 0;
  /** The time of the first line of the oldest file read. */
  let oldestRead: string | undefined;
  for (const file of files) {
    if (read > 0 && scannedBytes + file.size > maxBytes) {
      // Stopped before this (older) file: from when the answer is complete is the oldest line read so far.
      return { entries: numbered(found.slice(-limit)), files: read, scannedBytes, complete: false, ...(oldestRead !== undefined ? { searchedFrom: oldestRead } : {}) };
    }
    // A file just started (rotation made it, nothing written yet) holds no line.
    if (file.size === 0) continue;
    const inFile: LogEntry[] = [];
    // Up to the size seen when listed: the file of today grows while it is read, and what is appended meanwhile is
    // newer than the search (a cut last line fails to parse and is skipped).
    const input = createReadStream(file.path, { encoding: "utf8", end: file.size - 1 });
    const lines = createInterface({ input, crlfDelay: Infinity });
    let first: string | undefined;
    for await (const line of lines) {
      if (first === undefined && line.length > 0) first = line;
      if (!passes(line)) continue;
      const entry = parseLine(line, 0);
      if (!entry || !matches(entry, parsedFilter) || (until !== undefined && Date.parse(entry.time) > until)) continue;
      inFile.push(entry);
    }
    read++;
    scannedBytes += file.size;
    oldestRead = first !== undefined ? (parseLine(first, 0)?.time ?? oldestRead) : oldestRead;
    // Older files come later: their lines go before the ones found so far.
    found = inFile.concat(found);
    // The newest `limit` matches are found once a whole file's worth of older lines is not needed.
    if (found.length >= limit) break;
  }
  return { entries: numbered(found.slice(-limit)), files: read, scannedBytes, complete: true };
}

function numbered(entries: LogEntry[]): LogEntry[] {
  return entries.map((entry, index) => ({ ...entry, seq: index }));
}

/**
 * This instance's search and the other instances' (through the cluster, cluster-log-relay.ts) as one answer: the lines
 * by time, newest `limit`, numbered; what each instance read; complete only when every search was, and then only from
 * the latest time an incomplete one reached back to (older lines of the others would give a false picture).
 */
export function mergeSearches(
  own: (LogSearchResult & { instance: string }) | undefined,
  others: { entries: LogEntry[]; searched: LogFilesSearched[] } | undefined,
  limit: number,
): { entries: LogEntry[]; files: number; scannedBytes: number; complete: boolean; searchedFrom?: string; searched: LogFilesSearched[] } {
  const searched: LogFilesSearched[] = [
    ...(own ? [{ instance: own.instance, files: own.files, scannedBytes: own.scannedBytes, complete: own.complete, ...(own.searchedFrom !== undefined ? { searchedFrom: own.searchedFrom } : {}) }] : []),
    ...(others?.searched ?? []),
  ];
  const from = searched.filter((each) => !each.complete && each.searchedFrom !== undefined).map((each) => each.searchedFrom!).sort().at(-1);
  const lines = byTime([...(own?.entries ?? []), ...(others?.entries ?? [])]).filter((entry) => from === undefined || entry.time >= from);
  return {
    entries: numbered(lines.slice(-limit)),
    files: searched.reduce((sum, each) => sum + each.files, 0),
    scannedBytes: searched.reduce((sum, each) => sum + each.scannedBytes, 0),
    complete: searched.every((each) => each.complete),
    ...(from !== undefined ? { searchedFrom: from } : {}),
    searched,
  };
}
