/**
 * @module logging/log-retention
 * Log files past their retention are deleted: a file is named by the day it was started (`system-2026-12-04.log`,
 * `system-2026-12-04.1.log` after a size rotation), and one whose day is more than `retentionDays` before today
 * (UTC) goes. Age is read from the name, not the file's mtime, so copying or touching a folder changes nothing; files
 * not named like ours are never touched (an operator's notes, the `kai.log` of earlier versions).
 */
import { readdirSync, unlinkSync } from "node:fs";
import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";

const DAY_MS = 86_400_000;

/** `<name>-YYYY-MM-DD.log` or `<name>-YYYY-MM-DD.<n>.log`: the day and the rotation index (0 for the first). */
export function parseLogFileName(name: string, file: string): { day: string; index: number } | undefined {
  if (!file.startsWith(`${name}-`)) return undefined;
  const match = /^(\d{4}-\d{2}-\d{2})(?:\.(\d{1,6}))?\.log$/.exec(file.slice(name.length + 1));
  if (!match) return undefined;
  return { day: match[1]!, index: match[2] === undefined ? 0 : Number(match[2]) };
}

/** The UTC day of `time` as `YYYY-MM-DD`. */
export function dayOf(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** The files of `dir` named for `name` whose day is past retention at `now`. */
function expired(files: string[], name: string, retentionDays: number, now: number): string[] {
  const oldestKept = dayOf(now - retentionDays * DAY_MS);
  return files.filter((file) => {
    const parsed = parseLogFileName(name, file);
    // ISO days compare as strings.
    return parsed !== undefined && parsed.day < oldestKept;
  });
}

/** Deletes the expired files now (at start, before the first line is written); returns their names. */
export function pruneLogsSync(dir: string, name: string, retentionDays: number, now: number = Date.now()): string[] {
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  const gone = expired(files, name, retentionDays, now);
  for (const file of gone) {
    try {
      unlinkSync(join(dir, file));
    } catch {
      // Already gone, or not ours to delete: the next rotation tries again.
    }
  }
  return gone;
}

/** The same off the write path (on each rotation); never fails. */
export async function pruneLogs(dir: string, name: string, retentionDays: number, now: number = Date.now()): Promise<void> {
  try {
    const gone = expired(await readdir(dir), name, retentionDays, now);
    await Promise.all(gone.map((file) => unlink(join(dir, file)).catch(() => undefined)));
  } catch {
    // An unreadable folder: logging goes on; the next rotation tries again.
  }
}
