/**
 * @module storage/contracts/semantic-memory-store
 * Where semantic memory (issue 17, memory/) keeps its memories durably: one row per memory with its text, metadata,
 * namespace, expiry and vector, so the in-process index can be rebuilt from rows at start and a deleted row is gone
 * for good. The dedupe rule lives here, in one atomic step: a live memory with the same text hash in the same
 * owner's namespace is the answer to a second add (Mem0's ADD-only rule, without its delete-on-duplicate bug).
 * Every backend (memory, SQLite, PostgreSQL) passes the contract suite (test/memory/semantic-memory-store-contract.ts).
 */
import type { MemoryMetadata } from "@kai/protocol";

export interface StoredMemory {
  id: string;
  owner: string;
  namespace: string;
  text: string;
  metadata: MemoryMetadata;
  relations: string[];
  /** Lower-case hex SHA-256 of the text. */
  contentHash: string;
  model: string;
  /** Unit length (the service normalises before storing), so cosine similarity is a dot product. */
  vector: Float32Array;
  /** ms since epoch. */
  createdAt: number;
  /** ms since epoch; null: never expires. */
  expiresAt: number | null;
}

/** What the sweeper learns of each expired memory it removed (enough to drop it from the index). */
export interface RemovedMemory {
  id: string;
  owner: string;
  namespace: string;
  model: string;
}

export interface AddMemoryOutcome {
  /** The stored memory: `memory` as given, or the live one with the same text found first. */
  memory: StoredMemory;
  created: boolean;
  /** Expired memories with the same text that the add removed (the index must drop them too). */
  removed: RemovedMemory[];
}

export interface SemanticMemoryStore {
  /**
   * Stores `memory` unless a live memory (not expired at `now`) of the same owner and namespace has the same
   * `contentHash`: then nothing is stored and that one is returned (`created: false`). An expired one with the same
   * hash is deleted in the same step. Atomic: of two racing adds of one text, one creates and the other finds it.
   */
  add(memory: StoredMemory, now: number): Promise<AddMemoryOutcome>;
  get(id: string): Promise<StoredMemory | null>;
  /** The memories of these ids that exist (any order). */
  getMany(ids: readonly string[]): Promise<StoredMemory[]>;
  /** Deletes these ids; returns the ones that existed. */
  delete(ids: readonly string[]): Promise<RemovedMemory[]>;
  /** Id and metadata of every memory (expired too) of one owner's namespace, for deletes by filter. */
  metadataIn(owner: string, namespace: string): Promise<Array<{ id: string; metadata: MemoryMetadata }>>;
  /** Deletes every memory of one owner's namespace; returns them. */
  deleteNamespace(owner: string, namespace: string): Promise<RemovedMemory[]>;
  /** Deletes up to `limit` memories expired at `now`; returns them. */
  deleteExpired(now: number, limit: number): Promise<RemovedMemory[]>;
  /**
   * Replaces a memory's embedding (re-embedding under another model, memory/reembed-job.ts). Returns the memory as it
   * WAS indexed (its old model: the index drops that entry), or null when it is gone.
   */
  replaceEmbedding(id: string, model: string, vector: Float32Array): Promise<RemovedMemory | null>;
  /** Memories in id order after `afterId` (null: from the start), at most `limit`: the index is rebuilt from them. */
  scan(afterId: string | null, limit: number): Promise<StoredMemory[]>;
}

/** A vector as the bytes a backend stores (float32, the platform's byte order: little-endian on every target). */
export function vectorBytes(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** The vector of stored bytes (copied, so it does not alias the driver's buffer). */
export function vectorOf(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new Error("a stored memory vector is not a whole number of float32 values");
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}

export const removedOf = (memory: Pick<StoredMemory, "id" | "owner" | "namespace" | "model">): RemovedMemory => ({
  id: memory.id,
  owner: memory.owner,
  namespace: memory.namespace,
  model: memory.model,
});
