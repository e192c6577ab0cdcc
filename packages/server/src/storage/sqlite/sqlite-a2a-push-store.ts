/**
 * @module storage/sqlite/sqlite-a2a-push-store
 * The SQLite backend of `A2aPushStore` (contracts/a2a-push-store.ts), on the backend's connection: reads run
 * synchronously, writes are entries of the backend's group-commit batches (durable when they resolve). Every write
 * is one idempotent statement, so a batch re-run changes nothing.
 */
import type { Database, Statement } from "better-sqlite3";
import type { A2aPushStore, StoredPushConfig } from "../contracts/a2a-push-store.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

/** Migration 13: A2A push notification configs of kCore's tasks (issue 16). */
export const A2A_PUSH_SCHEMA = `
  CREATE TABLE a2a_push_configs (
    task_id       TEXT NOT NULL,
    id            TEXT NOT NULL,
    owner         TEXT NOT NULL,
    url           TEXT NOT NULL,
    scheme        TEXT,
    sealed        TEXT,
    delivered_seq INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (task_id, id)
  ) WITHOUT ROWID;
`;

interface Row {
  task_id: string;
  id: string;
  owner: string;
  url: string;
  scheme: string | null;
  sealed: string | null;
  delivered_seq: number;
  created_at: string;
}

const COLUMNS = "task_id, id, owner, url, scheme, sealed, delivered_seq, created_at";

const decode = (row: Row): StoredPushConfig => ({
  taskId: row.task_id,
  id: row.id,
  owner: row.owner,
  url: row.url,
  scheme: row.scheme,
  sealed: row.sealed,
  deliveredSeq: row.delivered_seq,
  createdAt: row.created_at,
});

export class SqliteA2aPushStore implements A2aPushStore {
  private readonly upsert: Statement<[string, string, string, string, string | null, string | null, number, string], Row>;
  private readonly selectOne: Statement<[string, string], Row>;
  private readonly selectTask: Statement<[string], Row>;
  private readonly selectAll: Statement<[number], Row>;
  private readonly remove: Statement<[string, string]>;
  private readonly advance: Statement<[number, string, string]>;

  constructor(
    db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    // A replaced config keeps how far its delivery got (and when it was first made).
    this.upsert = db.prepare(
      `INSERT INTO a2a_push_configs (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (task_id, id) DO UPDATE SET owner = excluded.owner, url = excluded.url, scheme = excluded.scheme, sealed = excluded.sealed
       RETURNING ${COLUMNS}`,
    );
    this.selectOne = db.prepare(`SELECT ${COLUMNS} FROM a2a_push_configs WHERE task_id = ? AND id = ?`);
    this.selectTask = db.prepare(`SELECT ${COLUMNS} FROM a2a_push_configs WHERE task_id = ? ORDER BY id`);
    this.selectAll = db.prepare(`SELECT ${COLUMNS} FROM a2a_push_configs ORDER BY task_id, id LIMIT ?`);
    this.remove = db.prepare("DELETE FROM a2a_push_configs WHERE task_id = ? AND id = ?");
    this.advance = db.prepare("UPDATE a2a_push_configs SET delivered_seq = MAX(delivered_seq, ?) WHERE task_id = ? AND id = ?");
  }

  putConfig(config: StoredPushConfig): Promise<StoredPushConfig> {
    return this.hooks.enqueue(() => decode(this.upsert.get(config.taskId, config.id, config.owner, config.url, config.scheme, config.sealed, config.deliveredSeq, config.createdAt)!));
  }

  async getConfig(taskId: string, id: string): Promise<StoredPushConfig | null> {
    this.hooks.assertOpen();
    const row = this.selectOne.get(taskId, id);
    return row ? decode(row) : null;
  }

  async listConfigs(taskId: string): Promise<StoredPushConfig[]> {
    this.hooks.assertOpen();
    return this.selectTask.all(taskId).map(decode);
  }

  async listAllConfigs(limit: number): Promise<StoredPushConfig[]> {
    this.hooks.assertOpen();
    return this.selectAll.all(limit).map(decode);
  }

  deleteConfig(taskId: string, id: string): Promise<boolean> {
    return this.hooks.enqueue(() => this.remove.run(taskId, id).changes > 0);
  }

  advanceConfig(taskId: string, id: string, seq: number): Promise<boolean> {
    return this.hooks.enqueue(() => this.advance.run(seq, taskId, id).changes > 0);
  }
}
