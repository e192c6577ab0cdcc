/**
 * @module storage/sqlite/sqlite-semantic-store
 * The SQLite backend of `SemanticMemoryStore` (table of migration 12), on the backend's connection. Reads run
 * synchronously; an add (the dedupe look-up, the removal of an expired twin, the insert) and every delete is one
 * atomic entry of the backend's group-commit batches, so it resolves once durable. The unique
 * (owner, namespace, content_hash) index makes the dedupe hold even if two entries raced.
 */
import type { Database, Statement } from "better-sqlite3";
import type { MemoryMetadata } from "@kai/protocol";
import { decodeStored } from "../contracts/task-store.js";
import { removedOf, vectorBytes, vectorOf, type AddMemoryOutcome, type RemovedMemory, type SemanticMemoryStore, type StoredMemory } from "../contracts/semantic-memory-store.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

/** Migration 12. Ids sort by creation time; `vector` is float32 bytes; times are ms since epoch. */
export const SEMANTIC_MEMORY_SCHEMA = `
  CREATE TABLE memories (
    id           TEXT PRIMARY KEY NOT NULL,
    owner        TEXT NOT NULL,
    namespace    TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text         TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    relations    TEXT NOT NULL,
    model        TEXT NOT NULL,
    vector       BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER
  );
  -- The dedupe key: one memory per text in one owner's namespace.
  CREATE UNIQUE INDEX memories_hash ON memories (owner, namespace, content_hash);
  -- The sweeper reads only the memories that expire.
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
  created_at: number;
  expires_at: number | null;
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
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

/** How many ids one `IN (…)` statement takes (below SQLite's default variable limit). */
const ID_CHUNK = 500;

export class SqliteSemanticStore implements SemanticMemoryStore {
  private readonly selectByHash: Statement<[string, string, string], MemoryRow>;
  private readonly insert: Statement<unknown[]>;
  private readonly deleteOne: Statement<[string]>;
  private readonly selectOne: Statement<[string], MemoryRow>;
  private readonly selectMeta: Statement<[string, string], { id: string; metadata: string }>;

  constructor(
    private readonly db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    this.selectByHash = db.prepare(`SELECT ${COLUMNS} FROM memories WHERE owner = ? AND namespace = ? AND content_hash = ?`);
    this.insert = db.prepare(`INSERT INTO memories (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.deleteOne = db.prepare("DELETE FROM memories WHERE id = ?");
    this.selectOne = db.prepare(`SELECT ${COLUMNS} FROM memories WHERE id = ?`);
    this.selectMeta = db.prepare("SELECT id, metadata FROM memories WHERE owner = ? AND namespace = ? ORDER BY id");
  }

  add(memory: StoredMemory, now: number): Promise<AddMemoryOutcome> {
    const values = [memory.id, memory.owner, memory.namespace, memory.contentHash, memory.text, JSON.stringify(memory.metadata), JSON.stringify(memory.relations), memory.model, vectorBytes(memory.vector), memory.createdAt, memory.expiresAt];
    return this.hooks.enqueue(() => {
      const removed: RemovedMemory[] = [];
      const existing = this.selectByHash.get(memory.owner, memory.namespace, memory.contentHash);
      if (existing) {
        if (existing.expires_at === null || existing.expires_at > now) return { memory: decode(existing), created: false, removed };
        this.deleteOne.run(existing.id);
        removed.push(removedOf(existing));
      }
      this.insert.run(...values);
      return { memory, created: true, removed };
    });
  }

  async get(id: string) {
    this.hooks.assertOpen();
    const row = this.selectOne.get(id);
    return row ? decode(row) : null;
  }

  async getMany(ids: readonly string[]) {
    this.hooks.assertOpen();
    const found: StoredMemory[] = [];
    for (let start = 0; start < ids.length; start += ID_CHUNK) {
      const chunk = ids.slice(start, start + ID_CHUNK);
      const rows = this.db.prepare<string[], MemoryRow>(`SELECT ${COLUMNS} FROM memories WHERE id IN (${chunk.map(() => "?").join(", ")})`).all(...chunk);
      found.push(...rows.map(decode));
    }
    return found;
  }

  delete(ids: readonly string[]) {
    const unique = [...new Set(ids)];
    return this.hooks.enqueue(() => {
      const removed: RemovedMemory[] = [];
      for (let start = 0; start < unique.length; start += ID_CHUNK) {
        const chunk = unique.slice(start, start + ID_CHUNK);
        const rows = this.db.prepare<string[], RemovedMemory>(`DELETE FROM memories WHERE id IN (${chunk.map(() => "?").join(", ")}) RETURNING ${REMOVED_COLUMNS}`).all(...chunk);
        removed.push(...rows.map(removedOf));
      }
      return removed;
    });
  }

  replaceEmbedding(id: string, model: string, vector: Float32Array) {
    return this.hooks.enqueue(() => {
      // One entry of the writer's batch: the read of the old model and the update cannot be split by another write.
      const before = this.db.prepare<[string], RemovedMemory>(`SELECT ${REMOVED_COLUMNS} FROM memories WHERE id = ?`).get(id);
      if (!before) return null;
      this.db.prepare<[string, Buffer, string]>("UPDATE memories SET model = ?, vector = ? WHERE id = ?").run(model, vectorBytes(vector), id);
      return removedOf(before);
    });
  }

  async metadataIn(owner: string, namespace: string) {
    this.hooks.assertOpen();
    return this.selectMeta.all(owner, namespace).map((row) => ({ id: row.id, metadata: decodeStored<MemoryMetadata>(row.metadata, "memory's metadata") }));
  }

  deleteNamespace(owner: string, namespace: string) {
    return this.hooks.enqueue(() =>
      this.db.prepare<[string, string], RemovedMemory>(`DELETE FROM memories WHERE owner = ? AND namespace = ? RETURNING ${REMOVED_COLUMNS}`).all(owner, namespace).map(removedOf),
    );
  }

  deleteExpired(now: number, limit: number) {
    return this.hooks.enqueue(() =>
      this.db
        .prepare<[number, number], RemovedMemory>(
          `DELETE FROM memories WHERE id IN (SELECT id FROM memories WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?) RETURNING ${REMOVED_COLUMNS}`,
        )
        .all(now, limit)
        .map(removedOf),
    );
  }

  async scan(afterId: string | null, limit: number) {
    this.hooks.assertOpen();
    const rows = afterId === null
      ? this.db.prepare<[number], MemoryRow>(`SELECT ${COLUMNS} FROM memories ORDER BY id LIMIT ?`).all(limit)
      : this.db.prepare<[string, number], MemoryRow>(`SELECT ${COLUMNS} FROM memories WHERE id > ? ORDER BY id LIMIT ?`).all(afterId, limit);
    return rows.map(decode);
  }
}
