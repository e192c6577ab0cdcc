/**
 * @module storage/sqlite/sqlite-node-settings-store
 * The SQLite backend of `NodeSettingsStore`: the `meta` key/value table.
 */
import type { Database, Statement } from "better-sqlite3";
import type { NodeSettingsStore } from "../contracts/node-store.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

export class SqliteNodeSettingsStore implements NodeSettingsStore {
  private readonly select: Statement<[string], { value: string }>;
  private readonly upsert: Statement<[string, string]>;
  private readonly insertIfAbsent: Statement<[string, string]>;

  constructor(
    db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    this.select = db.prepare("SELECT value FROM meta WHERE key = ?");
    this.upsert = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    this.insertIfAbsent = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING");
  }

  async getMeta(key: string): Promise<string | null> {
    this.hooks.assertOpen();
    return this.select.get(key)?.value ?? null;
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.hooks.enqueue(() => {
      this.upsert.run(key, value);
    });
  }

  claimMeta(key: string, value: string): Promise<string> {
    // Insert and read back in one batch entry: nothing else writes between them, and the answer is durable.
    return this.hooks.enqueue(() => {
      this.insertIfAbsent.run(key, value);
      return this.select.get(key)?.value ?? value;
    });
  }
}
