/**
 * @module storage/postgres/pg-semantic-store
 * The PostgreSQL backend of `SemanticMemoryStore` (table of migration 8), shared by every instance of the node. An
 * add is one transaction: the expired twin (same text in the same owner's namespace) is deleted, then the insert
 * relies on the unique (owner, namespace, content_hash) index, so of two racing adds one creates and the other
 * finds it. Vectors are float32 bytes (`bytea`), so the rows need no extension: the index is separate (memory/),
 * the embedded one in each instance or, with `memory.index.kind: pgvector`, its own tables in a PostgreSQL with
 * pgvector (memory/pgvector-index.ts; docs/data/memory.md).
 */
import type { MemoryMetadata } from "@kai/protocol";
import { decodeStored } from "../contracts/task-store.js";
import { removedOf, vectorBytes, vectorOf, type AddMemoryOutcome, type RemovedMemory, type SemanticMemoryStore, type StoredMemory } from "../contracts/semantic-memory-store.js";
import type { PgDatabase } from "./pg-database.js";

/** Migration 8. Ids sort by creation time (`COLLATE "C"`: byte order, as the other backends); times are ms since epoch. */
export const PG_SEMANTIC_MEMORY_SCHEMA = `
  CREATE TABLE memories (
    id           text COLLATE "C" PRIMARY KEY,
    owner        text NOT NULL,
    namespace    text NOT NULL,
    content_hash text NOT NULL,
    text         text NOT NULL,
    metadata     text NOT NULL,
    relations    text NOT NULL,
    model        text NOT NULL,
    vector       bytea NOT NULL,
    created_at   bigint NOT NULL,
    expires_at   bigint
  );
  CREATE UNIQUE INDEX memories_hash ON memories (owner, namespace, content_hash);
  CREATE INDEX memories_expiry ON memories (expires_at) WHERE expires_at IS NOT NULL;
`;

interface MemoryRow {
  id: string;
  owner: string;
  namespace: string;
  content_hash: string;
  text: string;
  metadata: string;
  relations: string;
  model: string;
  vector: Buffer;
  created_at: string;
  expires_at: string | null;
  [column: string]: unknown;
}

interface RemovedRow extends RemovedMemory {
  [column: string]: unknown;
}

const COLUMNS = "id, owner, namespace, content_hash, text, metadata, relations, model, vector, created_at, expires_at";
const REMOVED_COLUMNS = "id, owner, namespace, model";

const decode = (row: MemoryRow): StoredMemory => ({
  id: row.id,
  owner: row.owner,
  namespace: row.namespace,
  contentHash: row.content_hash,
  text: row.text,
  metadata: decodeStored<MemoryMetadata>(row.metadata, "memory's metadata"),
  relations: decodeStored<string[]>(row.relations, "memory's relations"),
  model: row.model,
  vector: vectorOf(row.vector),
  createdAt: Number(row.created_at),
  expiresAt: row.expires_at === null ? null : Number(row.expires_at),
});

export class PgSemanticStore implements SemanticMemoryStore {
  constructor(private readonly db: PgDatabase) {}

  async add(memory: StoredMemory, now: number): Promise<AddMemoryOutcome> {
    return this.db.transaction(async (client) => {
      const expired = await client.query<RemovedRow>(
        `DELETE FROM memories WHERE owner = $1 AND namespace = $2 AND content_hash = $3 AND expires_at IS NOT NULL AND expires_at <= $4 RETURNING ${REMOVED_COLUMNS}`,
        [memory.owner, memory.namespace, memory.contentHash, now],
      );
      const removed = expired.rows.map(removedOf);
      const inserted = await client.query(
        `INSERT INTO memories (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (owner, namespace, content_hash) DO NOTHING RETURNING id`,
        [memory.id, memory.owner, memory.namespace, memory.contentHash, memory.text, JSON.stringify(memory.metadata), JSON.stringify(memory.relations), memory.model, vectorBytes(memory.vector), memory.createdAt, memory.expiresAt],
      );
      if (inserted.rowCount === 1) return { memory, created: true, removed };
      const existing = await client.query<MemoryRow>(`SELECT ${COLUMNS} FROM memories WHERE owner = $1 AND namespace = $2 AND content_hash = $3`, [memory.owner, memory.namespace, memory.contentHash]);
      if (!existing.rows[0]) throw new Error("the memory this one duplicates vanished");
      return { memory: decode(existing.rows[0]), created: false, removed };
    });
  }

  async get(id: string) {
    const rows = await this.db.query<MemoryRow>(`SELECT ${COLUMNS} FROM memories WHERE id = $1`, [id]);
    return rows[0] ? decode(rows[0]) : null;
  }

  async getMany(ids: readonly string[]) {
    if (ids.length === 0) return [];
    const rows = await this.db.query<MemoryRow>(`SELECT ${COLUMNS} FROM memories WHERE id = ANY($1::text[])`, [[...ids]]);
    return rows.map(decode);
  }

  async delete(ids: readonly string[]) {
    if (ids.length === 0) return [];
    const rows = await this.db.query<RemovedRow>(`DELETE FROM memories WHERE id = ANY($1::text[]) RETURNING ${REMOVED_COLUMNS}`, [[...new Set(ids)]]);
    return rows.map(removedOf);
  }

  async replaceEmbedding(id: string, model: string, vector: Float32Array) {
    // The old model comes from the row as it was, locked by the sub-select until the update commits.
    const rows = await this.db.query<RemovedRow>(
      `UPDATE memories AS m SET model = $2, vector = $3 FROM (SELECT id, model FROM memories WHERE id = $1 FOR UPDATE) AS old
       WHERE m.id = old.id RETURNING m.id, m.owner, m.namespace, old.model`,
      [id, model, vectorBytes(vector)],
    );
    return rows[0] ? removedOf(rows[0]) : null;
  }

  async metadataIn(owner: string, namespace: string) {
    const rows = await this.db.query<{ id: string; metadata: string }>("SELECT id, metadata FROM memories WHERE owner = $1 AND namespace = $2 ORDER BY id", [owner, namespace]);
    return rows.map((row) => ({ id: row.id, metadata: decodeStored<MemoryMetadata>(row.metadata, "memory's metadata") }));
  }

  async deleteNamespace(owner: string, namespace: string) {
    const rows = await this.db.query<RemovedRow>(`DELETE FROM memories WHERE owner = $1 AND namespace = $2 RETURNING ${REMOVED_COLUMNS}`, [owner, namespace]);
    return rows.map(removedOf);
  }

  async deleteExpired(now: number, limit: number) {
    const rows = await this.db.query<RemovedRow>(
      `DELETE FROM memories WHERE id IN (SELECT id FROM memories WHERE expires_at IS NOT NULL AND expires_at <= $1 LIMIT $2) RETURNING ${REMOVED_COLUMNS}`,
      [now, limit],
    );
    return rows.map(removedOf);
  }

  async scan(afterId: string | null, limit: number) {
    const rows = afterId === null
      ? await this.db.query<MemoryRow>(`SELECT ${COLUMNS} FROM memories ORDER BY id LIMIT $1`, [limit])
      : await this.db.query<MemoryRow>(`SELECT ${COLUMNS} FROM memories WHERE id > $1 ORDER BY id LIMIT $2`, [afterId, limit]);
    return rows.map(decode);
  }
}
