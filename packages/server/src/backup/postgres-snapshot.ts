/**
 * @module backup/postgres-snapshot
 * The database part of a backup of a node on PostgreSQL: its records copied through the store contracts into a fresh
 * SQLite file (`<into>/kai.db`), so that a backup has one format whatever the node runs on, and restores, verifies
 * and moves between backends with the same code (storage/copy/). The steps are `kai storage copy`'s: the vault's rows
 * unchanged (still encrypted), every setting, then every kind (copy-storage.ts `copyRecords`). What the contracts
 * cannot list is read with SQL on the store's pool: the settings table and the unused recovery codes.
 *
 * Consistency: each kind is read page by page while the node serves, not inside one database snapshot (the store's
 * methods take their own connections). A change made during the copy may or may not be in the backup; records are
 * never half-copied, and the verification of a restore compares the restore with this snapshot. For one instant of
 * a busy cluster use `pg_dump` (docs/operations/backup.md).
 */
import { join } from "node:path";
import type pg from "pg";
import { ApiError } from "../errors.js";
import { PUBLIC_KEY_FILE, PUBLIC_KEY_META } from "../identity/node-key.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";
import { openStore } from "../storage/index.js";
import { copyRecords } from "../storage/copy/copy-storage.js";
import { copyVault } from "../storage/copy/copy-vault.js";
import type { SourceRecoveryCodes } from "../storage/copy/source-recovery-codes.js";
import { SQLITE_FILE } from "../storage/copy/sqlite-source.js";
import { writeFile } from "node:fs/promises";

/** A PostgreSQL store exposes its pool (storage/postgres/pg-store.ts). */
export function poolOf(store: StorageBackend): pg.Pool | null {
  const pool = (store as { pool?: unknown }).pool;
  return typeof pool === "object" && pool !== null && "query" in pool ? (pool as pg.Pool) : null;
}

export async function snapshotPostgres(store: StorageBackend, into: string): Promise<void> {
  const pool = poolOf(store);
  if (!pool) throw new ApiError("internal", "the node's store is not a PostgreSQL store");
  const meta = (await pool.query<{ key: string; value: string }>("SELECT key, value FROM meta ORDER BY key")).rows;
  const publicKey = meta.find((row) => row.key === PUBLIC_KEY_META)?.value;
  if (publicKey === undefined) throw new ApiError("conflict", `the database holds no node public key (${PUBLIC_KEY_META}): start the node once with its vault unlocked`);
  const codes = (
    await pool.query<{ user_id: string; code_hash: string; created_at: string }>(
      "SELECT user_id, code_hash, created_at FROM recovery_codes WHERE used_at IS NULL ORDER BY user_id, created_at, code_hash",
    )
  ).rows;
  const recoveryCodes = new Map<string, SourceRecoveryCodes>();
  for (const row of codes) {
    const entry = recoveryCodes.get(row.user_id) ?? { codeHashes: [], createdAt: row.created_at };
    entry.codeHashes.push(row.code_hash);
    recoveryCodes.set(row.user_id, entry);
  }

  const target = await openStore({ kind: "sqlite", path: join(into, SQLITE_FILE), checkpointIntervalMs: 0 });
  try {
    const quiet = () => undefined;
    await copyVault(store.vaultStore(), target.vaultStore(), quiet);
    for (const row of meta) await target.setMeta(row.key, row.value);
    await copyRecords(store, target, recoveryCodes, quiet);
  } finally {
    await target.close();
  }
  await writeFile(join(into, PUBLIC_KEY_FILE), publicKey, { mode: 0o644 });
}
