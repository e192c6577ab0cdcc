/**
 * @module memory/vector-index
 * The one interface every memory index backend implements: the embedded one (memory/embedded-index.ts, in the
 * process) and pgvector (memory/pgvector-index.ts, in PostgreSQL, shared by the instances and kept across
 * restarts). An index holds unit vectors in partitions (the service makes one per owner, namespace and embedding
 * model) and answers nearest-neighbour searches by cosine similarity. Its promises are what users rely on, checked by one contract suite on every
 * backend (test/memory/vector-index-contract.ts):
 * - a removed id is never returned afterwards (the index is consistent with the write that removed it);
 * - a search with an `accept` filter returns `k` hits whenever `k` accepted vectors exist (the filter is applied
 *   inside the search, never to a fixed candidate list: the post-filter trap of pgvector's HNSW without iterative scans);
 * - hits come best first, each at least `threshold` when one is given.
 */

export interface VectorHit {
  id: string;
  /** Cosine similarity, -1 … 1. */
  score: number;
}

export interface VectorSearch {
  partition: string;
  /** Unit length, of the partition's dimensions. */
  query: Float32Array;
  k: number;
  /** Only ids this returns true for are hits (metadata filters, expiry); called during the search. */
  accept?: (id: string) => boolean;
  /** Only hits scoring at least this. */
  threshold?: number;
}

export interface VectorIndex {
  /** `embedded` (exact below `hnswFrom` vectors per partition, HNSW above) or `pgvector`. */
  readonly kind: string;
  /** Adds (or replaces) one vector; the first vector of a partition fixes its dimensions. */
  add(partition: string, id: string, vector: Float32Array): Promise<void>;
  /** Adds many at once (the rebuild at start): cheaper than one by one for an approximate index. */
  addMany(partition: string, entries: ReadonlyArray<{ id: string; vector: Float32Array }>): Promise<void>;
  /** Removes these ids (unknown ones are ignored). */
  remove(partition: string, ids: readonly string[]): Promise<void>;
  search(search: VectorSearch): Promise<VectorHit[]>;
  /** Vectors in the partition now. */
  size(partition: string): number;
  /** Throws `IndexUnavailableError` when the backend cannot answer (the service answers 503 memory_index_unavailable). */
  check(): void;
  /** Loading from the rows starts (an index in this process refuses searches until `markLoaded`). */
  markLoading?(): void;
  /** Every row is in: what the index keeps across restarts (saved graphs) is taken or rebuilt now. */
  restore?(): Promise<void>;
  /** Loading ended. */
  markLoaded?(): void;
  /** The node stops: save what is kept across restarts. */
  close?(): Promise<void>;
  /**
   * Only a backend that keeps its vectors itself across restarts (pgvector): the start then compares the rows with
   * what it kept instead of adding every vector again (memory-service.ts `start`).
   */
  beginSync?(): Promise<IndexSync>;
}

/** One reconciliation of a persistent index with the rows, at start. */
export interface IndexSync {
  /** Which of these ids the partition holds already (the start adds only the others). */
  held(partition: string, ids: readonly string[]): Promise<ReadonlySet<string>>;
  /** Every row was read: the entries kept from before `beginSync` that `keep` refuses (row gone, or moved to another partition) are removed; how many. */
  finish(keep: (partition: string, id: string) => boolean): Promise<number>;
}

/** The index cannot answer now (not built yet, or its backend is down). */
export class IndexUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "IndexUnavailableError";
  }
}

/** A vector scaled to unit length (cosine similarity becomes a dot product); a zero vector is refused. */
export function normalise(vector: ArrayLike<number>): Float32Array {
  let sum = 0;
  for (let index = 0; index < vector.length; index++) sum += vector[index]! * vector[index]!;
  const norm = Math.sqrt(sum);
  if (!Number.isFinite(norm) || norm === 0) throw new Error("a zero or non-finite vector has no direction");
  const unit = new Float32Array(vector.length);
  for (let index = 0; index < vector.length; index++) unit[index] = vector[index]! / norm;
  return unit;
}
