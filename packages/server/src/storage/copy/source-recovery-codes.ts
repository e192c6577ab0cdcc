/**
 * @module storage/copy/source-recovery-codes
 * The unused recovery codes of the SQLite source, read from its file: `IdentityStore` can count a user's codes
 * and use one, but not list their hashes, which the copy must carry. Only unused codes are read: a used code can
 * never be used again, and `replaceRecoveryCodes` on the target writes codes as unused, so copying a used one
 * would bring it back to life. Read on a connection of its own, read-only, after the source store has opened (and
 * so migrated) the file.
 */
import BetterSqlite3 from "better-sqlite3";

export interface SourceRecoveryCodes {
  codeHashes: string[];
  /** When the set was made (the oldest code's time). */
  createdAt: string;
}

/** Every user's unused recovery codes, by user id. */
export function readSourceRecoveryCodes(path: string): Map<string, SourceRecoveryCodes> {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare<[], { user_id: string; code_hash: string; created_at: string }>(
        "SELECT user_id, code_hash, created_at FROM recovery_codes WHERE used_at IS NULL ORDER BY user_id, created_at, code_hash",
      )
      .all();
    const byUser = new Map<string, SourceRecoveryCodes>();
    for (const row of rows) {
      const codes = byUser.get(row.user_id) ?? { codeHashes: [], createdAt: row.created_at };
      codes.codeHashes.push(row.code_hash);
      byUser.set(row.user_id, codes);
    }
    return byUser;
  } finally {
    db.close();
  }
}
