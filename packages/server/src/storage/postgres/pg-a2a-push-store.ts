/**
 * @module storage/postgres/pg-a2a-push-store
 * The PostgreSQL backend of `A2aPushStore` (contracts/a2a-push-store.ts), shared by every instance of the node:
 * one statement per operation (an upsert that keeps the delivery position, a forward-only advance).
 */
import type { A2aPushStore, StoredPushConfig } from "../contracts/a2a-push-store.js";
import type { PgDatabase } from "./pg-database.js";

/** Migration 9: A2A push notification configs of kCore's tasks (issue 16). */
export const A2A_PUSH_SCHEMA = `
  CREATE TABLE a2a_push_configs (
    task_id       text COLLATE "C" NOT NULL,
    id            text COLLATE "C" NOT NULL,
    owner         text NOT NULL,
    url           text NOT NULL,
    scheme        text,
    sealed        text,
    delivered_seq bigint NOT NULL,
    created_at    text NOT NULL,
    PRIMARY KEY (task_id, id)
  );
`;

type Row = {
  task_id: string;
  id: string;
  owner: string;
  url: string;
  scheme: string | null;
  sealed: string | null;
  delivered_seq: string | number;
  created_at: string;
};

const COLUMNS = "task_id, id, owner, url, scheme, sealed, delivered_seq, created_at";

const decode = (row: Row): StoredPushConfig => ({
  taskId: row.task_id,
  id: row.id,
  owner: row.owner,
  url: row.url,
  scheme: row.scheme,
  sealed: row.sealed,
  deliveredSeq: Number(row.delivered_seq),
  createdAt: row.created_at,
});

export class PgA2aPushStore implements A2aPushStore {
  constructor(private readonly db: PgDatabase) {}

  async putConfig(config: StoredPushConfig): Promise<StoredPushConfig> {
    const rows = await this.db.query<Row>(
      `INSERT INTO a2a_push_configs (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (task_id, id) DO UPDATE SET owner = excluded.owner, url = excluded.url, scheme = excluded.scheme, sealed = excluded.sealed
       RETURNING ${COLUMNS}`,
      [config.taskId, config.id, config.owner, config.url, config.scheme, config.sealed, config.deliveredSeq, config.createdAt],
    );
    return decode(rows[0]!);
  }

  async getConfig(taskId: string, id: string): Promise<StoredPushConfig | null> {
    const rows = await this.db.query<Row>(`SELECT ${COLUMNS} FROM a2a_push_configs WHERE task_id = $1 AND id = $2`, [taskId, id]);
    return rows[0] ? decode(rows[0]) : null;
  }

  async listConfigs(taskId: string): Promise<StoredPushConfig[]> {
    return (await this.db.query<Row>(`SELECT ${COLUMNS} FROM a2a_push_configs WHERE task_id = $1 ORDER BY id`, [taskId])).map(decode);
  }

  async listAllConfigs(limit: number): Promise<StoredPushConfig[]> {
    return (await this.db.query<Row>(`SELECT ${COLUMNS} FROM a2a_push_configs ORDER BY task_id, id LIMIT $1`, [limit])).map(decode);
  }

  async deleteConfig(taskId: string, id: string): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>("DELETE FROM a2a_push_configs WHERE task_id = $1 AND id = $2 RETURNING id", [taskId, id]);
    return rows.length > 0;
  }

  async advanceConfig(taskId: string, id: string, seq: number): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      "UPDATE a2a_push_configs SET delivered_seq = GREATEST(delivered_seq, $1) WHERE task_id = $2 AND id = $3 RETURNING id",
      [seq, taskId, id],
    );
    return rows.length > 0;
  }
}
