/**
 * @module logging/rotating-file
 * One log folder's files: a pino destination that writes `<dir>/<name>-<day>.log` and starts a new file when the UTC
 * day changes or the current file would pass `maxBytes` (`<name>-<day>.1.log`, `.2.log`…). Each rotation (and the
 * start) deletes the files past retention (log-retention.ts). Files are created 0600 in a 0700 folder: log lines are
 * redacted, but still say who signed in from where.
 *
 * A rotation opens a new sonic-boom and ends the old one (which closes it). A node restarted during the day appends to
 * that day's newest file. A folder that exists keeps its mode (an operator may have opened it to a log shipper's
 * group); only new files and folders get ours.
 */
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { MAX_HELD_BYTES, watchDestination, type WatchedDestination } from "./destination-trouble.js";
import { dayOf, parseLogFileName, pruneLogs, pruneLogsSync } from "./log-retention.js";

export interface RotatingFileOptions {
  dir: string;
  /** File name prefix (the folder's name: `system`, `security`, `agents`). */
  name: string;
  /** A file is rotated before it would pass this size. */
  maxBytes: number;
  /** Files whose day is more than this many days before today are deleted. */
  retentionDays: number;
  /** The clock (tests move it). */
  now?: () => number;
  /** Told once when the file cannot be written (and once when it can again); default: a line on stderr. */
  onTrouble?: (message: string) => void;
}

export class RotatingFile {
  private readonly now: () => number;
  /** The file being written and its trouble state (destination-trouble.ts). */
  private current: WatchedDestination;
  private day: string;
  /** When the current day ends (ms): checking a number per line is cheaper than formatting a date. */
  private dayEndsAt: number;
  private index: number;
  private size: number;

  constructor(private readonly options: RotatingFileOptions) {
    this.now = options.now ?? Date.now;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const now = this.now();
    pruneLogsSync(options.dir, options.name, options.retentionDays, now);
    this.day = dayOf(now);
    this.dayEndsAt = endOfDay(now);
    const last = this.newestOf(this.day);
    this.index = last.index;
    this.size = last.size;
    if (this.size >= options.maxBytes) {
      this.index++;
      this.size = 0;
    }
    this.current = this.open();
  }

  /** The file being written now. */
  get path(): string {
    const suffix = this.index === 0 ? "" : `.${this.index}`;
    return join(this.options.dir, `${this.options.name}-${this.day}${suffix}.log`);
  }

  /** Whether the file's last write failed (destination-trouble.ts). */
  get failing(): boolean {
    return this.current.failing();
  }

  /** pino's destination interface: one serialised line per call (multistream writes line by line). */
  write(chunk: string): boolean {
    const bytes = Buffer.byteLength(chunk);
    const now = this.now();
    if (now >= this.dayEndsAt) {
      this.day = dayOf(now);
      this.dayEndsAt = endOfDay(now);
      // Usually no file of the new day exists yet; after a clock change one may.
      const last = this.newestOf(this.day);
      if (last.size >= this.options.maxBytes) this.rotate(now, last.index + 1, 0);
      else this.rotate(now, last.index, last.size);
    } else if (this.size > 0 && this.size + bytes > this.options.maxBytes) {
      this.rotate(now, this.index + 1, 0);
    }
    this.size += bytes;
    return this.current.destination.write(chunk);
  }

  /** Writes what is queued: nothing, normally, as the destination writes each line at once (see `open`). */
  async flush(): Promise<void> {
    try {
      // Skipped while the file cannot be written (destination-trouble.ts).
      this.current.destination.flushSync();
    } catch {
      // A destination that is not open yet has nothing to flush.
    }
  }

  private rotate(now: number, index: number, size: number): void {
    const old = this.current;
    this.index = index;
    this.size = size;
    this.current = this.open();
    // A file that cannot be written would hold its lines (and its descriptor) forever: it is let go. A healthy one
    // writes what it still holds to its own file, then closes.
    if (old.failing()) old.destination.destroy();
    else old.destination.end();
    void pruneLogs(this.options.dir, this.options.name, this.options.retentionDays, now);
  }

  private open(): WatchedDestination {
    // Synchronous: a line is in the file when the call returns (the last lines before a crash are not lost), and a
    // write(2) of one line into the page cache costs the event loop ~6 µs, while handing each line to the thread pool
    // (sync: false without buffering) cost it ~40-80 µs on this project's machines. The store already writes to disk
    // on the event loop (SQLite's commit), so a disk that stalls stalls both alike. stdout stays asynchronous: a pipe
    // whose reader is slow must not stop the node. A file that cannot be written: destination-trouble.ts.
    const path = this.path;
    const destination = pino.destination({ dest: path, sync: true, mkdir: true, mode: 0o600, append: true, maxLength: MAX_HELD_BYTES });
    return watchDestination(destination, `the log file ${path}`, this.options.onTrouble);
  }

  /** The highest-numbered file of `day` already in the folder, and its size (index 0, size 0 when there is none). */
  private newestOf(day: string): { index: number; size: number } {
    let index = -1;
    try {
      for (const file of readdirSync(this.options.dir)) {
        const parsed = parseLogFileName(this.options.name, file);
        if (parsed?.day === day && parsed.index > index) index = parsed.index;
      }
    } catch {
      // An unreadable folder: opening the file will say so.
    }
    if (index < 0) return { index: 0, size: 0 };
    const suffix = index === 0 ? "" : `.${index}`;
    try {
      return { index, size: statSync(join(this.options.dir, `${this.options.name}-${day}${suffix}.log`)).size };
    } catch {
      return { index, size: 0 };
    }
  }
}

function endOfDay(time: number): number {
  const day = new Date(time);
  return Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1);
}
