/**
 * @module storage/sqlite/private-file
 * SQLite files only the node's own user can read: the database holds password hashes, session and token digests,
 * the sealed vault and the security log. SQLite creates a database with mode 0644 (less the umask), so on a data
 * directory that others may enter (made by an operator or a container volume at 0755) every local user could copy
 * `kai.db` and its WAL. The key files beside it are 0600 already; these now are too.
 *
 * A database that does not exist yet is created here, empty, with mode 0600 (SQLite takes an empty file as a new
 * database) before SQLite opens it: its `-wal` and `-shm` files are then made with the database's own mode (SQLite's
 * rule for a database's companion files). Files that exist already lose their group and other permissions, so a node
 * made before this change is tightened at its next start. A file the node cannot change (another user's) is left as
 * it is: opening it then works or fails as it did before.
 */
import { chmodSync, closeSync, openSync, statSync } from "node:fs";

/** The companion files SQLite keeps beside a database in WAL mode. */
const COMPANIONS = ["-wal", "-shm", "-journal"];

/** Creates `path` empty with mode 0600 when absent, and takes group and other permissions off it and its companions. */
export function keepPrivate(path: string): void {
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch {
    // There already (or not creatable: SQLite's own open says why).
  }
  for (const file of [path, ...COMPANIONS.map((suffix) => `${path}${suffix}`)]) {
    try {
      const { mode } = statSync(file);
      if ((mode & 0o077) !== 0) chmodSync(file, mode & 0o700);
    } catch {
      // Absent, or another user's: nothing to do here.
    }
  }
}
