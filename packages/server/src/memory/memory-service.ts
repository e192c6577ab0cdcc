/**
 * @module memory/memory-service
 * Semantic memory (issue 17, docs/data/memory.md): add, show, search and delete memories. A memory's row (store) is
 * the truth and the index (vector-index.ts) a view of the rows, filled from them at start. The order of every
 * write keeps the two consistent for readers: an add is durable before it is indexed, a delete removes the row and
 * then the index entry before it answers, and a search re-reads the rows of its hits, so a memory deleted or
 * expired is never returned, not even by an index that lags (another instance's delete).
 *
 * Several instances of one node (issue 13) each keep an index: every memory this instance adds or removes is told
 * to `onChange` listeners (memory-signals.ts publishes it to the other instances), and what another instance did
 * comes back through `indexAdded` / `forgetRemoved`; `reconcile` makes the index agree with the rows again after
 * signals were missed. Until a signal arrives another instance's new memory is not found here (seconds at most);
 * a removed one is never returned (the rows decide, above).
 *
 * Isolation: a namespace is its owner's (the token's owner): non-admin callers only ever touch their own; an admin
 * may name another owner. Filters (`filter[key]=value`: metadata equality) and expiry are decided inside the index
 * search through its `accept` callback, from a catalog of each indexed memory's metadata and expiry kept here.
 */
import { createHash } from "node:crypto";
import type { AddMemoryRequestSchema, DeleteMemoriesRequestSchema, Memory, MemoryMetadata, MemorySearchResult, SearchMemoryParams, SearchMemoryResponse } from "@kai/protocol";
import type { z } from "zod";
import { isAdmin, type Principal } from "../auth/principal.js";
import { ApiError, notFound } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import type { RemovedMemory, SemanticMemoryStore, StoredMemory } from "../storage/contracts/semantic-memory-store.js";
import type { Embedder } from "./gateway-embedder.js";
import { IndexUnavailableError, normalise, type IndexSync, type VectorIndex } from "./vector-index.js";
import { timeOrderedId } from "../time-ordered-id.js";

export interface MemoryServiceDeps {
  store: SemanticMemoryStore;
  index: VectorIndex;
  embedder: Embedder;
  logger: Logger;
  now?: () => number;
}

interface CatalogEntry {
  metadata: MemoryMetadata;
  expiresAt: number | null;
  /** Its index partition (partitionOf), so a removal told by id alone finds it. */
  partition: string;
}

/** Memories this instance added to or removed from the rows (and its index), by id. */
export interface MemoryChange {
  added?: string[];
  removed?: string[];
}

/** Rows read per page while the index is filled at start. */
const REBUILD_PAGE = 2_000;
/** Expired memories deleted per sweep statement. */
const SWEEP_BATCH = 1_000;

/** The index partition of one owner's namespace under one embedding model (vectors of two models never mix). */
export const partitionOf = (owner: string, namespace: string, model: string) => `${owner}\n${namespace}\n${model}`;

const newMemoryId = () => timeOrderedId("mem");

export const contentHashOf = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

/** Metadata equality by text (`filter[year]=2026` matches 2026 and "2026"; `null` matches null). */
export function matchesFilter(metadata: MemoryMetadata, filter: Readonly<Record<string, string>>): boolean {
  for (const [key, wanted] of Object.entries(filter)) {
    if (!Object.hasOwn(metadata, key)) return false;
    if (String(metadata[key]) !== wanted) return false;
  }
  return true;
}

export function toPublicMemory(memory: StoredMemory): Memory {
  return {
    id: memory.id,
    namespace: memory.namespace,
    owner: memory.owner,
    text: memory.text,
    metadata: memory.metadata,
    relations: memory.relations,
    contentHash: memory.contentHash,
    model: memory.model,
    dimensions: memory.vector.length,
    createdAt: new Date(memory.createdAt).toISOString(),
    expiresAt: memory.expiresAt === null ? null : new Date(memory.expiresAt).toISOString(),
  };
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length && index < b.length; index++) sum += a[index]! * b[index]!;
  return sum;
}

export class MemoryService {
  private readonly catalog = new Map<string, CatalogEntry>();
  private readonly now: () => number;
  private readonly changeListeners = new Set<(change: MemoryChange) => void>();

  constructor(private readonly deps: MemoryServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Fills the index from the stored rows. Expired rows are indexed too (the catalog's expiry keeps them from being
   * returned, the sweeper deletes them), so the index holds what it held before the restart and a saved graph
   * (embedded-index.ts `restore`) still matches.
   */
  async start(): Promise<void> {
    const index = this.deps.index;
    index.markLoading?.();
    const started = performance.now();
    // A persistent index (pgvector) kept its vectors: only the rows it lacks are added, and its entries no row
    // accounts for (deleted while this instance was away) removed.
    const sync = (await index.beginSync?.()) ?? null;
    let count = 0;
    let added = 0;
    for await (const page of this.allRows()) {
      const indexed = await this.indexRows(page, true, sync);
      count += indexed.count;
      added += indexed.added;
    }
    const pruned = sync ? await sync.finish((partition, id) => this.catalog.get(id)?.partition === partition) : 0;
    await index.restore?.();
    index.markLoaded?.();
    this.deps.logger.info({ memories: count, ms: Math.round(performance.now() - started), index: this.deps.index.kind, ...(sync ? { added, pruned } : {}) }, "memory index loaded");
  }

  /** Saves what the index keeps across restarts, if it keeps anything (the node is stopping). */
  async close(): Promise<void> {
    await this.deps.index.close?.();
  }

  /** Every stored row, page by page, in id order. */
  private async *allRows(): AsyncGenerator<StoredMemory[]> {
    for (let after: string | null = null; ; ) {
      const page = await this.deps.store.scan(after, REBUILD_PAGE);
      if (page.length > 0) yield page;
      if (page.length < REBUILD_PAGE) return;
      after = page[page.length - 1]!.id;
    }
  }

  /**
   * Indexes the rows given that are not indexed yet (nor expired, unless `withExpired`); returns how many, and how
   * many were sent to the index (with `sync`, those a persistent index held already are not).
   */
  private async indexRows(rows: readonly StoredMemory[], withExpired = false, sync: IndexSync | null = null): Promise<{ count: number; added: number }> {
    const now = this.now();
    const byPartition = new Map<string, Array<{ id: string; vector: Float32Array }>>();
    let count = 0;
    for (const memory of rows) {
      if ((!withExpired && this.expired(memory, now)) || this.catalog.has(memory.id)) continue;
      const key = partitionOf(memory.owner, memory.namespace, memory.model);
      let entries = byPartition.get(key);
      if (!entries) byPartition.set(key, (entries = []));
      entries.push({ id: memory.id, vector: memory.vector });
      this.catalog.set(memory.id, { metadata: memory.metadata, expiresAt: memory.expiresAt, partition: key });
      count++;
    }
    let added = 0;
    for (const [key, entries] of byPartition) {
      const held = sync ? await sync.held(key, entries.map((entry) => entry.id)) : null;
      const missing = held ? entries.filter((entry) => !held.has(entry.id)) : entries;
      added += missing.length;
      await this.deps.index.addMany(key, missing);
    }
    return { count, added };
  }

  /** Tells the listener of every memory this instance adds or removes; returns how to stop. */
  onChange(listener: (change: MemoryChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private tell(change: MemoryChange): void {
    for (const listener of this.changeListeners) {
      try {
        listener(change);
      } catch (error) {
        this.deps.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "a memory change listener failed");
      }
    }
  }

  /** Another instance added these memories: their rows are indexed here (those gone or expired since are not). */
  async indexAdded(ids: readonly string[]): Promise<void> {
    const fresh = ids.filter((id) => !this.catalog.has(id));
    if (fresh.length > 0) await this.indexRows(await this.deps.store.getMany(fresh));
  }

  /** Another instance removed these memories: they leave this index too. */
  async forgetRemoved(ids: readonly string[]): Promise<void> {
    const byPartition = new Map<string, string[]>();
    for (const id of ids) {
      const entry = this.catalog.get(id);
      if (!entry) continue;
      this.catalog.delete(id);
      let list = byPartition.get(entry.partition);
      if (!list) byPartition.set(entry.partition, (list = []));
      list.push(id);
    }
    for (const [key, list] of byPartition) await this.deps.index.remove(key, list);
  }

  /**
   * Makes the index agree with the rows (after missed signals): rows not indexed are added, index entries without
   * a row are removed. Reads every row once.
   */
  async reconcile(): Promise<{ added: number; removed: number }> {
    const seen = new Set<string>();
    let added = 0;
    for await (const page of this.allRows()) {
      for (const memory of page) seen.add(memory.id);
      added += (await this.indexRows(page)).count;
    }
    const gone = [...this.catalog.keys()].filter((id) => !seen.has(id));
    await this.forgetRemoved(gone);
    return { added, removed: gone.length };
  }

  /**
   * Moves memories to `model`'s vector space (reembed-job.ts): each row's vector and model replaced, then its index
   * entry moved to the new partition, and the other instances told. Returns how many were moved (a memory gone
   * meanwhile is not).
   */
  async replaceEmbeddings(model: string, replacements: ReadonlyArray<{ id: string; vector: Float32Array }>): Promise<number> {
    const moved: string[] = [];
    for (const { id, vector } of replacements) {
      if (await this.deps.store.replaceEmbedding(id, model, vector)) moved.push(id);
    }
    if (moved.length === 0) return 0;
    await this.forgetRemoved(moved);
    await this.indexRows(await this.deps.store.getMany(moved));
    this.tell({ removed: moved });
    this.tell({ added: moved });
    return moved.length;
  }

  async add(request: z.output<typeof AddMemoryRequestSchema>, principal: Principal): Promise<{ memory: Memory; created: boolean }> {
    this.checkIndex();
    const owner = principal.owner;
    if (request.relations.length > 0) await this.checkRelations(owner, request.namespace, request.relations);
    const { model, vectors } = await this.deps.embedder.embed(principal, [request.text]);
    const vector = this.unit(vectors[0]!);
    const now = this.now();
    const candidate: StoredMemory = {
      id: newMemoryId(),
      owner,
      namespace: request.namespace,
      text: request.text,
      metadata: request.metadata,
      relations: [...new Set(request.relations)],
      contentHash: contentHashOf(request.text),
      model,
      vector,
      createdAt: now,
      expiresAt: request.ttlSeconds === undefined ? null : now + request.ttlSeconds * 1000,
    };
    const outcome = await this.deps.store.add(candidate, now);
    await this.unindex(outcome.removed);
    if (outcome.created) {
      // Durable first, then indexed: a search never finds a memory whose row is not there.
      const partition = partitionOf(owner, candidate.namespace, model);
      await this.deps.index.add(partition, candidate.id, vector);
      this.catalog.set(candidate.id, { metadata: candidate.metadata, expiresAt: candidate.expiresAt, partition });
      this.tell({ added: [candidate.id] });
    }
    return { memory: toPublicMemory(outcome.memory), created: outcome.created };
  }

  async get(id: string, principal: Principal): Promise<Memory> {
    const memory = await this.deps.store.get(id);
    if (!memory || !this.visible(memory, principal) || this.expired(memory)) throw notFound("memory");
    return toPublicMemory(memory);
  }

  async search(query: SearchMemoryParams, filter: Readonly<Record<string, string>>, principal: Principal): Promise<SearchMemoryResponse> {
    this.checkIndex();
    const owner = this.ownerFor(query.owner, principal);
    const { model, vectors } = await this.deps.embedder.embed(principal, [query.q]);
    const vector = this.unit(vectors[0]!);
    const now = this.now();
    const accept = (id: string) => {
      const entry = this.catalog.get(id);
      return entry !== undefined && (entry.expiresAt === null || entry.expiresAt > now) && matchesFilter(entry.metadata, filter);
    };
    const hits = await this.withIndex(() => this.deps.index.search({ partition: partitionOf(owner, query.namespace, model), query: vector, k: query.limit, accept, ...(query.threshold !== undefined ? { threshold: query.threshold } : {}) }));
    const rows = new Map((await this.deps.store.getMany(hits.map((hit) => hit.id))).map((memory) => [memory.id, memory]));
    const results: MemorySearchResult[] = [];
    for (const hit of hits) {
      const memory = rows.get(hit.id);
      // The row is the truth: gone (deleted, perhaps by another instance) or expired means not returned.
      if (!memory || memory.owner !== owner || memory.namespace !== query.namespace || this.expired(memory, now)) continue;
      results.push({ memory: toPublicMemory(memory), score: hit.score });
    }
    if (query.expand) results.push(...(await this.related(results, rows, vector, owner, query.namespace, now)));
    return { results, model };
  }

  async delete(id: string, principal: Principal): Promise<void> {
    const memory = await this.deps.store.get(id);
    if (!memory || !this.visible(memory, principal)) throw notFound("memory");
    await this.unindex(await this.deps.store.delete([id]));
  }

  /** Deletes every memory of a namespace matching `filter`, or all of it; returns how many. */
  async deleteWhere(body: z.output<typeof DeleteMemoriesRequestSchema>, principal: Principal): Promise<number> {
    const owner = this.ownerFor(body.owner, principal);
    let removed: RemovedMemory[];
    if (body.all) removed = await this.deps.store.deleteNamespace(owner, body.namespace);
    else {
      const filter = body.filter ?? {};
      const ids = (await this.deps.store.metadataIn(owner, body.namespace)).filter((entry) => matchesFilter(entry.metadata, filter)).map((entry) => entry.id);
      removed = ids.length > 0 ? await this.deps.store.delete(ids) : [];
    }
    await this.unindex(removed);
    return removed.length;
  }

  /** Deletes the expired memories (rows and index entries); returns how many. */
  async sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const removed = await this.deps.store.deleteExpired(this.now(), SWEEP_BATCH);
      await this.unindex(removed);
      total += removed.length;
      if (removed.length < SWEEP_BATCH) return total;
    }
  }

  private async related(results: MemorySearchResult[], rows: Map<string, StoredMemory>, query: Float32Array, owner: string, namespace: string, now: number): Promise<MemorySearchResult[]> {
    const seen = new Set(results.map((result) => result.memory.id));
    const wanted = new Map<string, string>();
    for (const result of results) {
      for (const id of rows.get(result.memory.id)?.relations ?? []) if (!seen.has(id) && !wanted.has(id)) wanted.set(id, result.memory.id);
    }
    if (wanted.size === 0) return [];
    const found = await this.deps.store.getMany([...wanted.keys()]);
    return found
      .filter((memory) => memory.owner === owner && memory.namespace === namespace && !this.expired(memory, now))
      .map((memory) => ({ memory: toPublicMemory(memory), score: dot(query, memory.vector), relatedTo: wanted.get(memory.id)! }))
      .sort((a, b) => b.score - a.score);
  }

  private async checkRelations(owner: string, namespace: string, ids: readonly string[]): Promise<void> {
    const found = await this.deps.store.getMany(ids);
    const live = new Set(found.filter((memory) => memory.owner === owner && memory.namespace === namespace && !this.expired(memory)).map((memory) => memory.id));
    const missing = ids.filter((id) => !live.has(id));
    if (missing.length > 0) {
      throw new ApiError("validation_failed", "relations must name memories of the same namespace", missing.map((id) => ({ path: "relations", message: `no memory ${id} in this namespace` })));
    }
  }

  private async unindex(removed: readonly RemovedMemory[]): Promise<void> {
    const byPartition = new Map<string, string[]>();
    for (const memory of removed) {
      this.catalog.delete(memory.id);
      const key = partitionOf(memory.owner, memory.namespace, memory.model);
      let ids = byPartition.get(key);
      if (!ids) byPartition.set(key, (ids = []));
      ids.push(memory.id);
    }
    for (const [key, ids] of byPartition) await this.deps.index.remove(key, ids);
    if (removed.length > 0) this.tell({ removed: removed.map((memory) => memory.id) });
  }

  private ownerFor(asked: string | undefined, principal: Principal): string {
    if (asked === undefined || asked === principal.owner) return principal.owner;
    if (!isAdmin(principal)) throw new ApiError("forbidden", "only an admin may use another owner's memory");
    return asked;
  }

  private visible(memory: StoredMemory, principal: Principal): boolean {
    return memory.owner === principal.owner || isAdmin(principal);
  }

  private expired(memory: Pick<StoredMemory, "expiresAt">, now = this.now()): boolean {
    return memory.expiresAt !== null && memory.expiresAt <= now;
  }

  private unit(vector: number[]): Float32Array {
    try {
      return normalise(vector);
    } catch {
      throw new ApiError("upstream_invalid_response", "the embedding service answered a zero vector");
    }
  }

  private checkIndex(): void {
    try {
      this.deps.index.check();
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** A remote index (pgvector) may become unreachable between `check` and the search: the same 503. */
  private async withIndex<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  private unavailable(error: unknown): unknown {
    return error instanceof IndexUnavailableError ? new ApiError("memory_index_unavailable", error.message, undefined, { "Retry-After": "1" }) : error;
  }
}
