/**
 * @module storage/sqlite/database-claim
 * One node per SQLite database. A second `kai serve` on a data directory whose node still runs used to start: SQLite
 * lets several processes share a file in WAL mode, but each node keeps its own view of the registry in memory (the ids
 * and their positions, the revision, the leases, the change feed), so two nodes writing one file hand out the same
 * revisions and miss each other's changes.
 *
 * The claim is an exclusive SQLite lock on a file beside the database (`kai.db.lock`), held while the store is open.
 * Why a SQLite lock rather than a PID file: the operating system drops it when the process ends however it ends
 * (kill -9, a crash, a power cut leaves no stale lock), and SQLite already takes it correctly across processes and
 * between connections of one process (two nodes in one test process). A node on PostgreSQL takes no claim: several
 * instances share that database by design (cluster/).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { keepPrivate } from "./private-file.js";

/** Another node holds the database. */
export class DatabaseInUseError extends Error {
  override name = "DatabaseInUseError";
}

export interface DatabaseClaim {
  /** Gives the database up (the store's close). */
  release(): void;
}

/** Claims the database at `path` for this store; throws `DatabaseInUseError` when another node holds it. */
export function claimDatabase(path: string): DatabaseClaim {
  const lockPath = `${path}.lock`;
  mkdirSync(dirname(lockPath), { recursive: true });
  keepPrivate(lockPath);
  // timeout 0: a held claim is an answer at once, not a wait.
  const lock = new BetterSqlite3(lockPath, { timeout: 0 });
  try {
    lock.pragma("locking_mode = EXCLUSIVE");
    lock.exec("BEGIN EXCLUSIVE");
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code === "SQLITE_BUSY") {
      throw new DatabaseInUseError(
        `${path} is in use by another kai node (it holds ${lockPath}): stop that node first, or give this one a data directory of its own (--data-dir, KAI_DATA_DIR)`,
      );
    }
    throw error;
  }
  return {
    release: () => {
      try {
        lock.exec("ROLLBACK");
      } finally {
        lock.close();
      }
    },
  };
}
