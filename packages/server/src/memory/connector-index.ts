/**
 * @module memory/connector-index
 * The memory index in an external vector store, Qdrant or Chroma, reached through the gateway's connectors
 * (`memory.index.kind: connector`, docs/data/memory.md): a registered service names the store (connector-store.ts:
 * registry record + credential + connector), and this class keeps the promises of vector-index.ts on top of the
 * connectors' neutral vector API (collections, upsert, nearest-k query with an equality filter, delete).
 *
 * Layout: one collection per partition (owner, namespace, model) and dimension count, named
 * `<collectionPrefix><32 hex of sha256(partition, dimensions)>`. Hashed because a partition key holds any owner's
 * and namespace's text and collection names allow only `[A-Za-z0-9._-]` (Chroma: at most 63 characters); with the
 * dimension count in the hash a leftover collection of another width can never be written to; the prefix keeps
 * several nodes (or tests) apart in one store. A collection is created on a partition's first add, with cosine
 * distance (vectors are unit length: the store's score is the cosine similarity the contract promises). A point's
 * id is the memory id (stable, so every write is an idempotent upsert: the start's refill, a replay after an
 * outage or another instance's echo never doubles a point) and its payload `kai_memory` repeats the id so that a
 * filter can name ids (below).
 *
 * Searching: `accept` is JS (metadata filters, expiry) and cannot be sent to the store, and a fixed candidate
 * list filtered afterwards would return fewer than `k` while more match (the trap issue 17 names). So the search
 * asks for `k` nearest, applies `accept` (and the ids this index holds: a point whose delete never reached the
 * store is not returned) to the answers in order, and asks again for 4× as many until `k` are accepted, the store
 * has no more (it answered fewer than asked), or a score fell below the threshold (every later one is lower). The
 * neutral query API has no offset and answers at most 1,000 points, so when 1,000 candidates were not enough the
 * search turns the filter around: the ids of the partition that `accept` takes (this index knows them all) go to
 * the store as a `kai_memory in […]` filter, in chunks of `pushDownChunk`, each chunk's best `k` are merged. That
 * is exact (the store ranks only accepted points) and costs one query per chunk, and happens only for a selective
 * filter on a large partition. Cost: a search is one query when the filter passes most points, up to
 * ⌈log4(1000/k)⌉+1 queries before the push-down, plus one per chunk of accepted ids after it.
 *
 * Start: the service adds every row again (markLoading, addMany, markLoaded). While loading, each batch first asks
 * the store which of its ids it holds (`kai_memory in […]`, ids only) and uploads only the others, so a restart
 * costs one small query per 1,000 memories rather than every vector again; writes are upserts by the memory id
 * either way, so nothing is doubled.
 *
 * `size` is synchronous: the ids of each partition are kept here (they are also what the search's orphan check
 * and the push-down read), filled by the start's refill from the rows and kept by every add and remove.
 *
 * Availability and catching up: a call that fails because the store cannot be used (connector-store.ts
 * `VectorStoreDown`) marks the index down: `check` throws IndexUnavailableError (503 memory_index_unavailable;
 * the memories stay in the node's own store, nothing is lost), searches are refused, and writes are queued here
 * (the latest intent per id: its vector, or its removal) instead of failing, since their rows are durable already.
 * A probe every `probeIntervalMs` replays the queue (creating collections as needed) and, once it is empty, marks
 * the index up; until then searches are refused, so no search sees a store that lags the rows. A queue lost with
 * the process (a crash while down) is repaired by the next start, which uploads every row the store lacks; a
 * removal lost so leaves a point behind that no search returns (it is not among the ids held here) and that
 * nothing prunes: the neutral vector API cannot list a collection's ids.
 */
import { createHash } from "node:crypto";
import type { VectorMatch } from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import { VectorStore, VectorStoreDown, type VectorStoreDeps } from "./connector-store.js";
import { IndexUnavailableError, type VectorHit, type VectorIndex, type VectorSearch } from "./vector-index.js";

export interface ConnectorIndexSettings {
  /** The registry id of the Qdrant or Chroma service that holds the vectors. */
  service: string;
  /** Only a service record of this owner is used (connector-store.ts `owner`). */
  owner?: string;
  /** Start of every collection name this index makes (default `kai-memory-`). */
  collectionPrefix?: string;
  /** Longest wait for one call to the store, ms (default 10 000). */
  timeoutMs?: number;
  /** How long the service's record is used before it is read again, ms (default 5 000). */
  recordCacheMs?: number;
  /** How often a store that is down is tried again, ms (default 2 000). */
  probeIntervalMs?: number;
  /** Numbers (points × dimensions) per upsert call (default 262 144: about 3 MB of JSON). */
  batchValues?: number;
  /** Ids per `kai_memory in […]` query of a selective search (default 1 000). */
  pushDownChunk?: number;
}

export type ConnectorIndexDeps = Omit<VectorStoreDeps, "timeoutMs" | "recordCacheMs" | "logger"> & { logger: Logger };

/** A collection prefix: a letter or digit first, then letters, digits, `_` or `-` (the hash follows it). */
export const COLLECTION_PREFIX = /^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/;
/** The payload key holding the memory id (the push-down filters on it). */
export const ID_KEY = "kai_memory";
/** Most points one neutral query answers (`VectorQueryRequestSchema`'s `k`). */
const MAX_QUERY = 1_000;
/** Most points or ids one neutral upsert or delete takes. */
const MAX_WRITE = 10_000;

interface Partition {
  readonly dimensions: number;
  readonly collection: string;
  /** The ids this index holds (written, or queued to be written). */
  readonly ids: Set<string>;
  /** The collection exists (created here, or found existing); a promise while being created. */
  ready: Promise<void> | null;
}

/** Queued writes of one partition: the latest intent per id, a vector or null (removed). */
type Queue = Map<string, Float32Array | null>;

/** The connector index with its settings defaulted; see the module header. */
export function createConnectorIndex(deps: ConnectorIndexDeps, settings: ConnectorIndexSettings): ConnectorIndex {
  return new ConnectorIndex(deps, settings);
}

export class ConnectorIndex implements VectorIndex {
  readonly kind = "connector";
  private readonly store: VectorStore;
  private readonly prefix: string;
  private readonly probeIntervalMs: number;
  private readonly batchValues: number;
  private readonly pushDownChunk: number;
  private readonly logger: Logger;
  private readonly partitions = new Map<string, Partition>();
  private readonly queue = new Map<string, Queue>();
  private loading = false;
  /** Why the store is down, or null when it is up. */
  private down: string | null = null;
  private probe: NodeJS.Timeout | null = null;
  private probing: Promise<void> | null = null;
  private closed = false;

  constructor(deps: ConnectorIndexDeps, settings: ConnectorIndexSettings) {
    this.prefix = settings.collectionPrefix ?? "kai-memory-";
    if (!COLLECTION_PREFIX.test(this.prefix)) throw new Error(`memory.index.connector.collectionPrefix "${this.prefix}" must match ${String(COLLECTION_PREFIX)}`);
    this.logger = deps.logger.child({ component: "memory-index", service: settings.service });
    this.store = new VectorStore(settings.service, {
      ...deps,
      timeoutMs: settings.timeoutMs ?? 10_000,
      recordCacheMs: settings.recordCacheMs ?? 5_000,
      logger: this.logger,
      ...(settings.owner !== undefined ? { owner: settings.owner } : {}),
    });
    this.probeIntervalMs = settings.probeIntervalMs ?? 2_000;
    this.batchValues = settings.batchValues ?? 262_144;
    this.pushDownChunk = Math.min(settings.pushDownChunk ?? 1_000, MAX_WRITE);
  }

  /** The collection of a partition of `dimensions` (exported for operators' and tests' eyes only). */
  collectionOf(partition: string, dimensions: number): string {
    return this.prefix + createHash("sha256").update(`${partition}\n${dimensions}`, "utf8").digest("hex").slice(0, 32);
  }

  add(partition: string, id: string, vector: Float32Array): Promise<void> {
    return this.addMany(partition, [{ id, vector }]);
  }

  async addMany(partition: string, entries: ReadonlyArray<{ id: string; vector: Float32Array }>): Promise<void> {
    if (entries.length === 0) return;
    const target = this.partitionFor(partition, entries[0]!.vector.length);
    for (const entry of entries) {
      if (entry.vector.length !== target.dimensions) throw new Error(`a vector of ${entry.vector.length} dimensions in a partition of ${target.dimensions}`);
    }
    const size = Math.max(1, Math.min(MAX_WRITE, Math.floor(this.batchValues / target.dimensions)));
    for (let from = 0; from < entries.length; from += size) {
      const batch = entries.slice(from, from + size);
      if (this.queueing()) {
        this.enqueue(partition, target, batch);
        continue;
      }
      try {
        // The start's refill: the points the store kept from before are not sent again (only their ids are read).
        const held = this.loading ? await this.held(target, batch) : null;
        const missing = held ? batch.filter((entry) => !held.has(entry.id)) : batch;
        if (missing.length > 0) await this.upsert(target, missing);
        for (const entry of batch) target.ids.add(entry.id);
      } catch (error) {
        if (!(error instanceof VectorStoreDown)) throw error;
        this.markDown(error.message);
        this.enqueue(partition, target, batch);
      }
    }
  }

  async remove(partition: string, ids: readonly string[]): Promise<void> {
    const target = this.partitions.get(partition);
    if (!target || ids.length === 0) return;
    for (const id of ids) target.ids.delete(id);
    if (this.queueing()) {
      this.enqueueRemovals(partition, ids);
      return;
    }
    for (let from = 0; from < ids.length; from += MAX_WRITE) {
      const batch = ids.slice(from, from + MAX_WRITE);
      try {
        await this.deletePoints(target, batch);
      } catch (error) {
        if (!(error instanceof VectorStoreDown)) throw error;
        this.markDown(error.message);
        this.enqueueRemovals(partition, ids.slice(from));
        return;
      }
    }
  }

  async search(search: VectorSearch): Promise<VectorHit[]> {
    this.check();
    const target = this.partitions.get(search.partition);
    if (!target || target.ids.size === 0 || search.k <= 0) return [];
    if (search.query.length !== target.dimensions) throw new Error(`a query of ${search.query.length} dimensions in a partition of ${target.dimensions}`);
    const vector = Array.from(search.query);
    const { k, accept, threshold } = search;
    // Held here (not a leftover of a removal that never reached the store) and accepted by the caller.
    const wanted = (id: string) => target.ids.has(id) && (accept === undefined || accept(id));
    for (let limit = Math.min(k, MAX_QUERY); ; limit = Math.min(limit * 4, MAX_QUERY)) {
      const matches = await this.query(target, vector, limit);
      const hits: VectorHit[] = [];
      let belowThreshold = false;
      for (const match of matches) {
        if (threshold !== undefined && match.score < threshold) {
          belowThreshold = true;
          break;
        }
        const id = String(match.id);
        if (wanted(id)) hits.push({ id, score: match.score });
        if (hits.length === k) break;
      }
      if (hits.length === k || belowThreshold || matches.length < limit) return hits;
      if (limit === MAX_QUERY) break;
    }
    return this.searchAccepted(target, vector, k, [...target.ids].filter((id) => accept === undefined || accept(id)), threshold);
  }

  size(partition: string): number {
    return this.partitions.get(partition)?.ids.size ?? 0;
  }

  check(): void {
    if (this.loading) throw new IndexUnavailableError("the memory index is being filled from the stored memories");
    if (this.down !== null) throw new IndexUnavailableError(`the memory index's vector store is unavailable (${this.down})`);
    if (this.queue.size > 0) throw new IndexUnavailableError("the memory index is catching up with writes made while its vector store was unavailable");
  }

  markLoading(): void {
    this.loading = true;
  }

  markLoaded(): void {
    this.loading = false;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probe) clearTimeout(this.probe);
    this.probe = null;
    await this.probing;
  }

  /** The selective search's second half: the store ranks only `accepted`, chunk by chunk; the best `k` of all. */
  private async searchAccepted(target: Partition, vector: number[], k: number, accepted: string[], threshold: number | undefined): Promise<VectorHit[]> {
    const hits: VectorHit[] = [];
    for (let from = 0; from < accepted.length; from += this.pushDownChunk) {
      const chunk = accepted.slice(from, from + this.pushDownChunk);
      const matches = await this.query(target, vector, Math.min(k, chunk.length, MAX_QUERY), { [ID_KEY]: { in: chunk } });
      for (const match of matches) {
        const id = String(match.id);
        if ((threshold === undefined || match.score >= threshold) && target.ids.has(id)) hits.push({ id, score: match.score });
      }
    }
    return hits.sort((a, b) => b.score - a.score).slice(0, k);
  }

  private partitionFor(partition: string, dimensions: number): Partition {
    let target = this.partitions.get(partition);
    if (!target) {
      target = { dimensions, collection: this.collectionOf(partition, dimensions), ids: new Set(), ready: null };
      this.partitions.set(partition, target);
    }
    return target;
  }

  /** Writes go to the queue while the store is down or the queue is not yet replayed (their order per id holds). */
  private queueing(): boolean {
    return this.down !== null || this.queue.size > 0;
  }

  private enqueue(partition: string, target: Partition, entries: ReadonlyArray<{ id: string; vector: Float32Array }>): void {
    const queue = this.queueOf(partition);
    for (const entry of entries) {
      queue.set(entry.id, entry.vector);
      target.ids.add(entry.id);
    }
  }

  private enqueueRemovals(partition: string, ids: readonly string[]): void {
    const queue = this.queueOf(partition);
    for (const id of ids) queue.set(id, null);
  }

  private queueOf(partition: string): Queue {
    let queue = this.queue.get(partition);
    if (!queue) this.queue.set(partition, (queue = new Map()));
    return queue;
  }

  private markDown(reason: string): void {
    if (this.down === null) this.logger.warn({ reason }, "the memory index's vector store is unavailable; writes are queued and searches refused until it is back");
    this.down = reason;
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.probe || this.closed) return;
    this.probe = setTimeout(() => {
      this.probe = null;
      // One probe at a time (a write that failed meanwhile asked for another): two would replay the same queue.
      if (this.probing) {
        this.scheduleProbe();
        return;
      }
      this.probing = this.runProbe().finally(() => {
        this.probing = null;
      });
    }, this.probeIntervalMs);
    this.probe.unref();
  }

  /** Replays the queue (or, with none, lists the collections: reachable and authorised); up once the queue is empty. */
  private async runProbe(): Promise<void> {
    try {
      let replayed = 0;
      if (this.queue.size === 0) await this.store.call((connector, context) => connector.listCollections(context));
      while (this.queue.size > 0) replayed += await this.replayOnce();
      if (this.down !== null) this.logger.info({ replayed }, "the memory index's vector store is back; queued writes replayed");
      this.down = null;
    } catch (error) {
      if (!(error instanceof VectorStoreDown)) this.logger.error({ err: error instanceof Error ? error.message : String(error) }, "replaying the memory index's queued writes failed");
      else this.down = error.message;
      this.scheduleProbe();
    }
  }

  /** Sends what is queued now; an entry changed meanwhile stays queued. Returns how many writes were sent. */
  private async replayOnce(): Promise<number> {
    let sent = 0;
    for (const [partition, queue] of [...this.queue]) {
      const target = this.partitions.get(partition)!;
      const snapshot = new Map(queue);
      const upserts = [...snapshot].flatMap(([id, vector]) => (vector ? [{ id, vector }] : []));
      const removals = [...snapshot].flatMap(([id, vector]) => (vector ? [] : [id]));
      // Sent: off the queue, unless the id was written again meanwhile (that newer intent is sent next round).
      const settle = (ids: Iterable<string>) => {
        for (const id of ids) if (queue.get(id) === snapshot.get(id)) queue.delete(id);
      };
      const size = Math.max(1, Math.min(MAX_WRITE, Math.floor(this.batchValues / target.dimensions)));
      for (let from = 0; from < upserts.length; from += size) {
        const batch = upserts.slice(from, from + size);
        try {
          await this.upsert(target, batch);
        } catch (error) {
          if (error instanceof VectorStoreDown) throw error;
          // An answer about the request (a wrong dimension): replaying it again cannot help; the next start re-adds the rows.
          this.logger.error({ err: error instanceof Error ? error.message : String(error), count: batch.length }, "the vector store refused queued memory vectors; dropped until the next start");
        }
        settle(batch.map((entry) => entry.id));
        sent += batch.length;
      }
      for (let from = 0; from < removals.length; from += MAX_WRITE) {
        const batch = removals.slice(from, from + MAX_WRITE);
        await this.deletePoints(target, batch);
        settle(batch);
        sent += batch.length;
      }
      if (queue.size === 0) this.queue.delete(partition);
    }
    return sent;
  }

  /**
   * Which of `entries` the store holds already: `kai_memory in […]` queries (a chunk's size as `k`, no vectors
   * returned). A point held under the same partition and id has the same vector (a memory moved to another model
   * moves to another partition, so another collection). An approximate store that answers fewer than all of them
   * only costs their upload; no collection yet means none.
   */
  private async held(target: Partition, entries: ReadonlyArray<{ id: string; vector: Float32Array }>): Promise<Set<string>> {
    const held = new Set<string>();
    const vector = Array.from(entries[0]!.vector);
    for (let from = 0; from < entries.length; from += MAX_QUERY) {
      const chunk = entries.slice(from, from + MAX_QUERY).map((entry) => entry.id);
      try {
        const answer = await this.store.call((connector, context) =>
          connector.queryPoints({ collection: target.collection, vector, k: chunk.length, filter: { [ID_KEY]: { in: chunk } } }, context),
        );
        for (const match of answer.matches) held.add(String(match.id));
      } catch (error) {
        if (error instanceof VectorStoreDown || !(error instanceof ApiError)) throw error;
        // No collection yet (upstream_not_found), or a store that refuses the filter: the rest is uploaded.
        return held;
      }
    }
    return held;
  }

  /** Creates the partition's collection once (an existing one, made by another instance or an earlier run, is fine). */
  private ensureCollection(target: Partition): Promise<void> {
    target.ready ??= this.store
      .call((connector, context) => connector.createCollection({ name: target.collection, dimension: target.dimensions, metric: "cosine" }, context))
      .then(
        () => undefined,
        (error: unknown) => {
          if (error instanceof ApiError && error.code === "upstream_conflict") return;
          target.ready = null;
          throw error;
        },
      );
    return target.ready;
  }

  private async upsert(target: Partition, entries: ReadonlyArray<{ id: string; vector: Float32Array }>): Promise<void> {
    const points = entries.map((entry) => ({ id: entry.id, vector: Array.from(entry.vector), payload: { [ID_KEY]: entry.id } }));
    await this.ensureCollection(target);
    try {
      await this.store.call((connector, context) => connector.upsertPoints({ collection: target.collection, points }, context));
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "upstream_not_found")) throw error;
      // The collection was deleted behind this index's back: made again, and the write tried once more.
      target.ready = null;
      await this.ensureCollection(target);
      await this.store.call((connector, context) => connector.upsertPoints({ collection: target.collection, points }, context));
    }
  }

  private async deletePoints(target: Partition, ids: readonly string[]): Promise<void> {
    try {
      await this.store.call((connector, context) => connector.deletePoints({ collection: target.collection, ids: [...ids] }, context));
    } catch (error) {
      // No collection: nothing of it to delete.
      if (!(error instanceof ApiError && error.code === "upstream_not_found")) throw error;
    }
  }

  /** One nearest-k query; a store that cannot be used marks the index down and refuses the search (503). */
  private async query(target: Partition, vector: number[], k: number, filter?: Record<string, { in: string[] }>): Promise<VectorMatch[]> {
    try {
      const answer = await this.store.call((connector, context) =>
        connector.queryPoints({ collection: target.collection, vector, k, ...(filter ? { filter } : {}) }, context),
      );
      return answer.matches;
    } catch (error) {
      if (error instanceof VectorStoreDown) {
        this.markDown(error.message);
        throw new IndexUnavailableError(`the memory index's vector store is unavailable (${error.message})`);
      }
      if (error instanceof ApiError && error.code === "upstream_not_found") {
        // The collection is gone from the store (deleted by hand): its vectors are lost until the next start re-adds the rows.
        this.logger.error({ collection: target.collection }, "a memory collection is missing from the vector store; restart the node to rebuild it from the stored memories");
        throw new IndexUnavailableError("the memory index's collection is missing from its vector store (restart the node to rebuild it)");
      }
      throw error;
    }
  }
}
