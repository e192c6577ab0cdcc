/**
 * @module federation/directory-sync
 * Brings the in-memory directory of one origin's imported records in line with the store, on an instance that
 * did not write them (another instance's links did). Every difference goes through the directory's `put` and
 * `remove`, so watch streams with remote filters on this instance hear of it as if it had been imported here.
 *
 * Two modes: `replace` (the store is the truth: entries not in it are removed; a follower, or a new leader
 * before its links start) and `merge` (only newer statements are taken and nothing is removed: an instance whose
 * own links are writing at the same time, which a read of the store taken a moment earlier must not undo).
 */
import type { ImportedRow } from "../storage/contracts/federation-store.js";
import { entryFromRow, type ImportedDirectory } from "./imported-directory.js";

export type DirectorySyncMode = "replace" | "merge";

/** Applies the store's rows of `origin` (only that origin's) to the directory; returns how many entries changed. */
export function syncOrigin(directory: ImportedDirectory, origin: string, rows: readonly ImportedRow[], mode: DirectorySyncMode): number {
  let changed = 0;
  const stored = new Set<string>();
  for (const row of rows) {
    const entry = entryFromRow(row);
    // A row that no longer parses is skipped, as at start (the leader's sweep or next sync replaces it).
    if (!entry || entry.origin !== origin) continue;
    stored.add(entry.serviceId);
    const held = directory.get(origin, entry.serviceId);
    if (held && held.originRevision === entry.originRevision && held.expiresAt === entry.expiresAt && held.statementText === entry.statementText) continue;
    if (mode === "merge" && held && (held.originRevision > entry.originRevision || (held.originRevision === entry.originRevision && held.expiresAt >= entry.expiresAt))) continue;
    // `put` announces a new or changed revision, not a refresh (same revision, later expiry).
    directory.put(entry);
    changed++;
  }
  if (mode === "replace") {
    for (const entry of directory.entriesFrom(origin)) {
      if (stored.has(entry.serviceId)) continue;
      directory.remove(origin, entry.serviceId);
      changed++;
    }
  }
  return changed;
}
