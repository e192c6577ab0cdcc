/**
 * @module storage/copy/sqlite-source
 * The source of `kai storage copy`: a node's SQLite data directory (`<dir>/kai.db`). Before the store is
 * opened this makes sure there is a database to copy and that no server is running on it, and reads the
 * node's settings table, which the store contract can read by key but not list.
 *
 * How "no server is running" is known: the SQLite store keeps its database in WAL mode, and every open WAL
 * connection (a running `kai serve`, in any process) holds a shared lock on the file for as long as it is
 * open. A connection that asks for `locking_mode = EXCLUSIVE` and begins an exclusive transaction therefore
 * gets SQLITE_BUSY at once while any other connection is open, and succeeds only when none is. The lock is
 * released again before the copy opens the store, so a server started in that instant is not caught: the
 * command's documentation says to stop the node first.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { ApiError } from "../../errors.js";

export const SQLITE_FILE = "kai.db";

export interface SqliteSource {
  dataDir: string;
  /** `<dataDir>/kai.db`. */
  path: string;
  /** Every row of the node's `meta` table, by key. */
  meta: Map<string, string>;
}

/** Checks `dataDir` holds a database no process has open, and reads its settings. Throws ApiError otherwise. */
export function inspectSqliteSource(dataDir: string): SqliteSource {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new ApiError("not_found", `the source data directory ${dataDir} does not exist`);
  }
  const path = join(dataDir, SQLITE_FILE);
  if (!existsSync(path)) {
    throw new ApiError("not_found", `${path} does not exist: --from must be the data directory of a node that ran on SQLite`);
  }
  return withExclusiveLock(path, (db) => {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
    const rows = hasMeta ? db.prepare<[], { key: string; value: string }>("SELECT key, value FROM meta ORDER BY key").all() : [];
    return { dataDir, path, meta: new Map(rows.map((row) => [row.key, row.value])) };
  });
}

/** Throws ApiError `conflict` when another connection (a running server) has the SQLite file at `path` open. */
export function assertSqliteNotInUse(path: string): void {
  withExclusiveLock(path, () => undefined);
}

/** Runs `read` inside an exclusive transaction of a connection in exclusive locking mode (see the module header). */
function withExclusiveLock<T>(path: string, read: (db: BetterSqlite3.Database) => T): T {
  // fileMustExist: a probe never creates a database; timeout 0: a busy file is an answer, not a wait.
  const db = new BetterSqlite3(path, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma("locking_mode = EXCLUSIVE");
    try {
      db.exec("BEGIN EXCLUSIVE");
    } catch (error) {
      if ((error as { code?: string }).code === "SQLITE_BUSY") {
        throw new ApiError("conflict", `${path} is in use (is a kai server running on it?): stop it, then copy`);
      }
      throw error;
    }
    try {
      return read(db);
    } finally {
      db.exec("COMMIT");
    }
  } finally {
    db.close();
  }
}
