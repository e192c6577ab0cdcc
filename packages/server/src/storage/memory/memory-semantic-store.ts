/**
 * @module storage/memory/memory-semantic-store
 * `SemanticMemoryStore` in process memory, for `storage.kind: memory` (nothing survives a restart). Every method
 * runs to its end without awaiting, so an add's dedupe check and insert are atomic by construction. Copies go in and
 * out, so a caller changing its object never changes the stored one.
 */
import { removedOf, type AddMemoryOutcome, type RemovedMemory, type SemanticMemoryStore, type StoredMemory } from "../contracts/semantic-memory-store.js";

const copy = (memory: StoredMemory): StoredMemory => ({
  ...memory,
  metadata: { ...memory.metadata },
  relations: [...memory.relations],
  vector: new Float32Array(memory.vector),
});

const hashKey = (memory: Pick<StoredMemory, "owner" | "namespace" | "contentHash">) => `${memory.owner}\n${memory.namespace}\n${memory.contentHash}`;

export class MemorySemanticStore implements SemanticMemoryStore {
  private readonly rows = new Map<string, StoredMemory>();
  /** owner, namespace and hash -> id (the unique key). */
  private readonly byHash = new Map<string, string>();

  constructor(private readonly check: () => void) {}

  async add(memory: StoredMemory, now: number): Promise<AddMemoryOutcome> {
    this.check();
    const removed: RemovedMemory[] = [];
    const existingId = this.byHash.get(hashKey(memory));
    const existing = existingId === undefined ? undefined : this.rows.get(existingId);
    if (existing) {
      if (existing.expiresAt === null || existing.expiresAt > now) return { memory: copy(existing), created: false, removed };
      this.remove(existing);
      removed.push(removedOf(existing));
    }
    if (this.rows.has(memory.id)) throw new Error(`memory ${memory.id} exists`);
    this.rows.set(memory.id, copy(memory));
    this.byHash.set(hashKey(memory), memory.id);
    return { memory: copy(memory), created: true, removed };
  }

  async get(id: string) {
    this.check();
    const row = this.rows.get(id);
    return row ? copy(row) : null;
  }

  async getMany(ids: readonly string[]) {
    this.check();
    return ids.flatMap((id) => {
      const row = this.rows.get(id);
      return row ? [copy(row)] : [];
    });
  }

  async delete(ids: readonly string[]) {
    this.check();
    const removed: RemovedMemory[] = [];
    for (const id of new Set(ids)) {
      const row = this.rows.get(id);
      if (!row) continue;
      this.remove(row);
      removed.push(removedOf(row));
    }
    return removed;
  }

  async replaceEmbedding(id: string, model: string, vector: Float32Array) {
    this.check();
    const row = this.rows.get(id);
    if (!row) return null;
    const before = removedOf(row);
    this.rows.set(id, { ...row, model, vector: new Float32Array(vector) });
    return before;
  }

  async metadataIn(owner: string, namespace: string) {
    this.check();
    return [...this.rows.values()].filter((row) => row.owner === owner && row.namespace === namespace).map((row) => ({ id: row.id, metadata: { ...row.metadata } }));
  }

  async deleteNamespace(owner: string, namespace: string) {
    this.check();
    const doomed = [...this.rows.values()].filter((row) => row.owner === owner && row.namespace === namespace);
    for (const row of doomed) this.remove(row);
    return doomed.map(removedOf);
  }

  async deleteExpired(now: number, limit: number) {
    this.check();
    const doomed = [...this.rows.values()].filter((row) => row.expiresAt !== null && row.expiresAt <= now).slice(0, limit);
    for (const row of doomed) this.remove(row);
    return doomed.map(removedOf);
  }

  async scan(afterId: string | null, limit: number) {
    this.check();
    return [...this.rows.keys()]
      .filter((id) => afterId === null || id > afterId)
      .sort()
      .slice(0, limit)
      .map((id) => copy(this.rows.get(id)!));
  }

  private remove(row: StoredMemory): void {
    this.rows.delete(row.id);
    if (this.byHash.get(hashKey(row)) === row.id) this.byHash.delete(hashKey(row));
  }
}
