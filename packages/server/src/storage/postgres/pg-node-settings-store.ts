/**
 * @module storage/postgres/pg-node-settings-store
 * The PostgreSQL backend of `NodeSettingsStore`: the `meta` key/value table. `claimMeta` is how instances starting
 * at once agree on one value (the registry epoch, the node key): the first INSERT wins, and every caller reads
 * back the winner's value.
 */
import type { NodeSettingsStore } from "../contracts/node-store.js";
import type { PgDatabase } from "./pg-database.js";

export class PgNodeSettingsStore implements NodeSettingsStore {
  constructor(private readonly db: PgDatabase) {}

  async getMeta(key: string): Promise<string | null> {
    const rows = await this.db.query<{ value: string }>({ name: "kai_get_meta", text: "SELECT value FROM meta WHERE key = $1", values: [key] });
    return rows[0]?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.db.query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]);
  }

  async claimMeta(key: string, value: string): Promise<string> {
    // A concurrent INSERT of the same key makes this one wait for it to commit, then do nothing. The SELECT is a
    // second statement, so (read committed) it takes a new snapshot that sees the winner's row; within one
    // statement it would not.
    const inserted = await this.db.query<{ value: string }>("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING value", [key, value]);
    if (inserted[0]) return inserted[0].value;
    const stored = await this.getMeta(key);
    // Only a delete of the key between the two statements leaves nothing (no code deletes meta): claim again.
    return stored ?? this.claimMeta(key, value);
  }
}
