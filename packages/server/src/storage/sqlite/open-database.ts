/**
 * @module storage/sqlite/open-database
 * Opens the SQLite file with the settings the store's durability promise depends on (WAL, synchronous,
 * busy timeout, foreign keys) and migrates it. Kept apart so the pragmas are stated, and reviewed, once.
 */
import { mkdirSync } from "node:fs";
import { keepPrivate } from "./private-file.js";
import { dirname } from "node:path";
import BetterSqlite3, { type Database } from "better-sqlite3";
import { migrate } from "./migrations.js";

export type SynchronousMode = "full" | "normal";

export interface OpenDatabaseOptions {
  path: string;
  synchronous: SynchronousMode;
  /** `PRAGMA wal_autocheckpoint`, in pages (SQLite's default is 1,000). */
  autoCheckpointPages?: number;
  /** Page size of a NEW database file, bytes (SQLite's default 4096); an existing file keeps its own. */
  pageSize?: number;
}

/**
 * The per-connection settings (everything but WAL mode, which is stored in the file): the store's own
 * connection and the writer thread's both apply exactly these, so a commit is durable in the same way
 * whichever connection made it.
 */
export function connectionPragmas({ synchronous, autoCheckpointPages = 1000 }: Omit<OpenDatabaseOptions, "path">): string[] {
  return [
    // FULL fsyncs the WAL on every commit: an acknowledged write survives power loss. NORMAL survives a
    // process crash (kill -9) but may lose the last commits on power loss. Group commit amortises the fsync.
    `synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"}`,
    // Another process (a backup, the CLI) may hold the lock briefly; wait instead of failing at once.
    "busy_timeout = 5000",
    "foreign_keys = ON",
    // The default page cache is 2 MiB; at 100k services the indexes alone are tens of MiB, and random
    // ids touch pages all over them. It is private memory per connection, and there are two (this one and the
    // writer thread's): at 64 MiB each they held ~115 MB of the server's RSS at 100k services (issue 19). 16 MiB
    // keeps the hot index pages; a miss is a read from the OS page cache (the file stays cached there, shared and
    // reclaimable), and loading 100k services ran no slower (docs/benchmarks.md, "issue 19, memory at 100k services").
    "cache_size = -16384",
    "temp_store = MEMORY",
    // How much WAL may build up before a commit checkpoints it inline (the store decides; see sqlite-store.ts).
    `wal_autocheckpoint = ${Math.max(0, Math.trunc(autoCheckpointPages))}`,
    // Under steady writes a checkpoint rarely catches up, so the WAL file grows (measured: 206 MB after loading 10k
    // services) and SQLite never shrinks it by itself: once it is reset, it is cut back to 64 MiB.
    "journal_size_limit = 67108864",
  ];
}

export function openDatabase({ path, synchronous, autoCheckpointPages = 1000, pageSize }: OpenDatabaseOptions): Database {
  if (path !== ":memory:") {
    mkdirSync(dirname(path), { recursive: true });
    keepPrivate(path);
  }
  const db = new BetterSqlite3(path);
  try {
    // Only takes effect before the first table exists (and before WAL mode); a no-op on an existing file.
    // Smaller pages mean fewer WAL bytes per random B-tree leaf a registration dirties.
    if (pageSize !== undefined) db.pragma(`page_size = ${Math.trunc(pageSize)}`);
    // WAL: readers never block the writer, and a commit is one append (+ one fsync in FULL mode).
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (path !== ":memory:" && mode !== "wal") throw new Error(`could not enable WAL mode (got ${String(mode)})`);
    for (const pragma of connectionPragmas({ synchronous, autoCheckpointPages })) db.pragma(pragma);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
