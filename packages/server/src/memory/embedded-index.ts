/**
 * @module memory/embedded-index
 * The embedded memory index, the single-node default: in this process, filled from the durable rows at start
 * (memory-service.ts). Each partition keeps its vectors in a `FlatPartition` and answers exactly while it holds fewer
 * than `hnswFrom` vectors (exact is fast enough there and needs no recall caveat); from that size on it also keeps an
 * HNSW graph (usearch, Unum's maintained library: prebuilt binaries inside its npm package, no build step) and
 * answers from it.
 *
 * Filters are applied inside the search: an HNSW search asks the graph for 2×`k` neighbours, then 8×, then as many as
 * it ranks well (`expansionSearch`), keeping the accepted ones, until `k` are found or the scores fall below the
 * threshold. It never asks deeper: past that depth HNSW's order is only approximate, and the first `k` accepted hits
 * there missed true ones (recall@10 0.93 with a filter passing 10 % of 100,000 vectors, when rounds went on to 32×).
 * A filter that leaves fewer is selective, and the partition is then scanned exactly, testing the filter before any
 * arithmetic.
 * So a selective filter never returns fewer or other hits than exist, and a removed id is gone from both structures
 * before `remove` resolves.
 */
import { createHash } from "node:crypto";
import type { Index as UsearchIndex } from "usearch";
import type { Logger } from "../logging/logger.js";
import { FlatPartition } from "./flat-partition.js";
import { IndexSnapshots, newGraph, type GraphSettings, type GraphToSave, type SavedGraph } from "./index-snapshots.js";
import { IndexUnavailableError, type VectorHit, type VectorIndex, type VectorSearch } from "./vector-index.js";

export interface EmbeddedIndexOptions {
  /** Partition size from which HNSW answers (below: exact). `Infinity`: always exact. */
  hnswFrom: number;
  /** HNSW graph degree (usearch `connectivity`). */
  connectivity: number;
  /** Candidates kept while inserting (usearch `expansion_add`). */
  expansionAdd: number;
  /** Candidates kept while searching (usearch `expansion_search`): recall against speed. */
  expansionSearch: number;
}

export const EMBEDDED_INDEX_DEFAULTS: EmbeddedIndexOptions = { hnswFrom: 10_000, connectivity: 16, expansionAdd: 128, expansionSearch: 128 };

/** Saving the graphs across restarts. */
export interface IndexPersistence {
  /** The folder of the saved graphs (`<dataDir>/memory-index`). */
  dir: string;
  /** A change is saved at most this long after it (changes meanwhile ride along), ms. */
  saveDelayMs: number;
  logger: Logger;
}

/** How often the graphs were built from the vectors and taken from a saved file (tests assert which one ran). */
export interface GraphCounts {
  built: number;
  loaded: number;
  saved: number;
}

/** Rows per batch when a graph is built from a whole partition: bounds the copy of the vectors usearch is handed. */
const BUILD_BATCH = 8_192;
const DIGEST_MODULUS = 1n << 256n;

/** SHA-256 of one id and its vector, as a number: summed (mod 2^256) over a partition, the sum names its set of vectors in any order. */
function entryDigest(id: string, vector: Float32Array): bigint {
  const hash = createHash("sha256").update(id, "utf8").update("\0").update(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength)).digest("hex");
  return BigInt(`0x${hash}`);
}

/** A round of a filtered HNSW search asking for more than this share of the partition scans it exactly instead. */
const EXACT_SHARE = 0.1;

class Partition {
  readonly flat: FlatPartition;
  graph: UsearchIndex | null = null;
  private labelOf = new Map<string, bigint>();
  private idOf = new Map<bigint, string>();
  private nextLabel = 1n;
  /** The sum of `entryDigest` over the vectors held (kept only when graphs are saved). */
  private digest = 0n;
  /** Changed since the graph was last saved. */
  dirty = false;

  constructor(
    dimensions: number,
    private readonly options: EmbeddedIndexOptions,
    private readonly tracksDigest: boolean,
    private readonly counts: GraphCounts,
  ) {
    this.flat = new FlatPartition(dimensions);
  }

  /** What the partition holds, as a saved graph's sidecar records it. */
  coverage(): { count: number; digest: string } {
    return { count: this.flat.size, digest: this.digest.toString(16).padStart(64, "0") };
  }

  /** True when the partition should hold a graph but does not (its building was deferred while loading). */
  get wantsGraph(): boolean {
    return !this.graph && this.flat.size >= this.options.hnswFrom;
  }

  /** `deferGraph`: while loading, the graph is built (or loaded) once all vectors are in. */
  set(id: string, vector: Float32Array, deferGraph = false): void {
    this.flatSet(id, vector);
    this.dirty = true;
    if (this.graph) this.graphAdd(id, vector);
    else if (!deferGraph && this.flat.size >= this.options.hnswFrom) this.buildGraph();
  }

  /** Adds many: the vectors first, then the graph in one multi-threaded batch. */
  setMany(entries: ReadonlyArray<{ id: string; vector: Float32Array }>, deferGraph = false): void {
    this.dirty = true;
    if (!this.graph) {
      for (const entry of entries) this.flatSet(entry.id, entry.vector);
      if (!deferGraph && this.flat.size >= this.options.hnswFrom) this.buildGraph();
      return;
    }
    for (const entry of entries) this.flatSet(entry.id, entry.vector);
    const dimensions = this.flat.dimensions;
    const keys = new BigUint64Array(entries.length);
    const matrix = new Float32Array(entries.length * dimensions);
    entries.forEach((entry, row) => {
      const old = this.labelOf.get(entry.id);
      if (old !== undefined) {
        this.graph!.remove(old);
        this.idOf.delete(old);
      }
      const label = this.nextLabel++;
      this.labelOf.set(entry.id, label);
      this.idOf.set(label, entry.id);
      keys[row] = label;
      matrix.set(entry.vector, row * dimensions);
    });
    this.graph.add(keys, matrix);
  }

  delete(id: string): void {
    const old = this.tracksDigest ? this.flat.vector(id) : undefined;
    if (old) this.digest = (this.digest - entryDigest(id, old) + DIGEST_MODULUS) % DIGEST_MODULUS;
    if (!this.flat.delete(id)) return;
    this.dirty = true;
    const label = this.labelOf.get(id);
    if (label !== undefined && this.graph) {
      this.graph.remove(label);
      this.labelOf.delete(id);
      this.idOf.delete(label);
    }
  }

  search(search: VectorSearch): VectorHit[] {
    const threshold = search.threshold ?? -Infinity;
    const size = this.flat.size;
    if (!this.graph || size < this.options.hnswFrom) return this.flat.search(search.query, search.k, search.accept, threshold);
    let want = search.accept ? search.k * 2 : search.k;
    for (;;) {
      const asked = Math.min(want, size);
      const matches = this.graph.search(search.query, asked, 0);
      const hits: VectorHit[] = [];
      let belowThreshold = false;
      for (let index = 0; index < matches.keys.length; index++) {
        const id = this.idOf.get(matches.keys[index]!);
        if (id === undefined) continue;
        // usearch's cosine distance is 1 - similarity.
        const score = 1 - matches.distances[index]!;
        if (score < threshold) {
          belowThreshold = true;
          break;
        }
        if (search.accept && !search.accept(id)) continue;
        hits.push({ id, score });
        if (hits.length === search.k) return hits;
      }
      // Every candidate good enough was seen, or the partition has no more: nothing further can qualify.
      if (belowThreshold || asked >= size) return hits;
      want *= 4;
      if (want > size * EXACT_SHARE) return this.flat.search(search.query, search.k, search.accept, threshold);
      if (search.accept) {
        // A filtered search goes no deeper than the graph ranks well: past that its order is approximate, and the
        // first k accepted would miss true neighbours. A filter that rejected most of that depth is selective: the
        // exact scan tests it before any arithmetic.
        const ranksWell = Math.max(this.options.expansionSearch, search.k * 2);
        if (asked >= ranksWell) return this.flat.search(search.query, search.k, search.accept, threshold);
        want = Math.min(want, ranksWell);
      }
    }
  }

  private flatSet(id: string, vector: Float32Array): void {
    if (this.tracksDigest) {
      const old = this.flat.vector(id);
      if (old) this.digest = (this.digest - entryDigest(id, old) + DIGEST_MODULUS) % DIGEST_MODULUS;
      this.digest = (this.digest + entryDigest(id, vector)) % DIGEST_MODULUS;
    }
    this.flat.set(id, vector);
  }

  private graphAdd(id: string, vector: Float32Array): void {
    let label = this.labelOf.get(id);
    if (label !== undefined) {
      this.graph!.remove(label);
      this.idOf.delete(label);
    }
    label = this.nextLabel++;
    this.labelOf.set(id, label);
    this.idOf.set(label, id);
    this.graph!.add(label, vector);
  }

  /** Builds the graph over every vector, a batch at a time (usearch adds a batch on several threads). */
  buildGraph(): void {
    this.counts.built++;
    const dimensions = this.flat.dimensions;
    this.graph = newGraph(this.settings());
    this.labelOf = new Map();
    this.idOf = new Map();
    this.nextLabel = 1n;
    let keys = new BigUint64Array(Math.min(BUILD_BATCH, this.flat.size));
    let matrix = new Float32Array(keys.length * dimensions);
    let row = 0;
    const flush = () => {
      if (row === 0) return;
      this.graph!.add(row === keys.length ? keys : keys.subarray(0, row), row === keys.length ? matrix : matrix.subarray(0, row * dimensions));
      row = 0;
    };
    for (const { id, vector } of this.flat.entries()) {
      const label = this.nextLabel++;
      this.labelOf.set(id, label);
      this.idOf.set(label, id);
      keys[row] = label;
      matrix.set(vector, row * dimensions);
      if (++row === keys.length) {
        flush();
        keys = new BigUint64Array(keys.length);
        matrix = new Float32Array(matrix.length);
      }
    }
    flush();
  }

  /** Takes a saved graph whose sidecar matched this partition's vectors. */
  adoptGraph(saved: SavedGraph): void {
    this.graph = saved.graph;
    this.labelOf = new Map();
    this.idOf = new Map();
    saved.ids.forEach((id, index) => {
      const label = BigInt(saved.labels[index]!);
      this.labelOf.set(id, label);
      this.idOf.set(label, id);
    });
    this.nextLabel = BigInt(saved.nextLabel);
  }

  /** The graph and its label map as they are now, for saving (null: no graph). */
  toSave(): GraphToSave | null {
    if (!this.graph) return null;
    const ids: string[] = [];
    const labels: number[] = [];
    for (const [id, label] of this.labelOf) {
      ids.push(id);
      labels.push(Number(label));
    }
    return { graph: this.graph, ids, labels, nextLabel: Number(this.nextLabel), ...this.coverage() };
  }

  settings(): GraphSettings {
    return { dimensions: this.flat.dimensions, connectivity: this.options.connectivity, expansionAdd: this.options.expansionAdd, expansionSearch: this.options.expansionSearch };
  }
}

export class EmbeddedIndex implements VectorIndex {
  readonly kind = "embedded";
  private readonly partitions = new Map<string, Partition>();
  private readonly options: EmbeddedIndexOptions;
  private loaded = true;
  /** While loading, graphs wait until every vector is in (then `restore` loads or builds them). */
  private deferGraphs = false;
  private readonly snapshots: IndexSnapshots | null;
  /** Partitions emptied since the last save: their saved graphs go. */
  private readonly emptied = new Set<string>();
  private saveTimer: NodeJS.Timeout | null = null;
  private saving: Promise<void> = Promise.resolve();
  private savesRunning = 0;
  private closed = false;
  readonly graphs: GraphCounts = { built: 0, loaded: 0, saved: 0 };

  constructor(
    options: Partial<EmbeddedIndexOptions> = {},
    private readonly persistence: IndexPersistence | null = null,
  ) {
    this.options = { ...EMBEDDED_INDEX_DEFAULTS, ...options };
    this.snapshots = persistence ? new IndexSnapshots(persistence.dir) : null;
  }

  /** Marks the index as being (re)built: searches and writes are refused until `markLoaded`. */
  markLoading(): void {
    this.loaded = false;
    this.deferGraphs = true;
  }

  /** Ends loading: a graph still deferred (no `restore`) is built now. */
  markLoaded(): void {
    this.deferGraphs = false;
    for (const partition of this.partitions.values()) {
      if (partition.wantsGraph) partition.buildGraph();
    }
    this.loaded = true;
  }

  /**
   * After loading: each partition that should hold a graph takes its saved one when that covers exactly the vectors
   * now held, else builds it (and saves it soon). Saved files of partitions that hold no graph now are removed.
   */
  async restore(): Promise<void> {
    const snapshots = this.snapshots;
    const logger = this.persistence?.logger;
    if (!snapshots || !logger) return;
    const kept = new Set<string>();
    for (const [key, partition] of this.partitions) {
      if (!partition.wantsGraph) continue;
      kept.add(key);
      const started = performance.now();
      const coverage = partition.coverage();
      const outcome = await snapshots.load(key, partition.settings(), coverage).catch((error: unknown) => ({
        ok: false as const, found: true, reason: `reading it failed (${error instanceof Error ? error.message : String(error)})`,
      }));
      // Nothing writes while loading (the service refuses), but a graph is taken only for exactly what it was checked against.
      const current = partition.coverage();
      if (outcome.ok && current.count === coverage.count && current.digest === coverage.digest) {
        partition.adoptGraph(outcome);
        partition.dirty = false;
        this.graphs.loaded++;
        logger.info({ vectors: partition.flat.size, ms: Math.round(performance.now() - started) }, "memory index graph loaded from its saved file");
        continue;
      }
      // Why the saved graph was not used goes to the log (a partition's key names its owner: not logged).
      const reason = outcome.ok ? "the vectors changed while it was read" : outcome.found ? outcome.reason : null;
      if (reason !== null) logger.warn({ vectors: partition.flat.size, reason }, "memory index: saved graph not used, rebuilding it from the rows");
      partition.buildGraph();
      partition.dirty = true;
      logger.info({ vectors: partition.flat.size, ms: Math.round(performance.now() - started) }, "memory index graph built");
    }
    this.deferGraphs = false;
    const pruned = await snapshots.prune(kept).catch(() => 0);
    if (pruned > 0) logger.info({ files: pruned }, "memory index: saved graphs no longer needed removed");
    this.scheduleSave();
  }

  check(): void {
    if (!this.loaded) throw new IndexUnavailableError("the memory index is being rebuilt from the stored memories");
  }

  async add(partition: string, id: string, vector: Float32Array): Promise<void> {
    this.partitionFor(partition, vector.length).set(id, vector, this.deferGraphs);
    this.scheduleSave();
  }

  async addMany(partition: string, entries: ReadonlyArray<{ id: string; vector: Float32Array }>): Promise<void> {
    if (entries.length === 0) return;
    this.partitionFor(partition, entries[0]!.vector.length).setMany(entries, this.deferGraphs);
    this.scheduleSave();
  }

  async remove(partition: string, ids: readonly string[]): Promise<void> {
    const target = this.partitions.get(partition);
    if (!target) return;
    for (const id of ids) target.delete(id);
    if (target.flat.size === 0) {
      this.partitions.delete(partition);
      this.emptied.add(partition);
    }
    this.scheduleSave();
  }

  async search(search: VectorSearch): Promise<VectorHit[]> {
    const target = this.partitions.get(search.partition);
    if (!target || search.k <= 0) return [];
    if (search.query.length !== target.flat.dimensions) throw new Error(`a query of ${search.query.length} dimensions in a partition of ${target.flat.dimensions}`);
    return target.search(search);
  }

  size(partition: string): number {
    return this.partitions.get(partition)?.flat.size ?? 0;
  }

  /** Saves every changed graph now (and removes the saved graphs of emptied partitions); one save at a time. */
  save(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    this.savesRunning++;
    this.saving = this.saving
      .catch(() => undefined)
      .then(() => this.saveChanged())
      .finally(() => this.savesRunning--);
    return this.saving;
  }

  /** Whether a change is not saved yet: one waits for the timer, is being written, or is newer (tests, diagnostics). */
  get savePending(): boolean {
    if (this.saveTimer !== null || this.savesRunning > 0) return true;
    for (const partition of this.partitions.values()) if (partition.dirty && partition.graph !== null) return true;
    return false;
  }

  /** Stops saving later: what changed is saved now. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.save();
    this.closed = true;
  }

  private scheduleSave(): void {
    if (!this.persistence || this.deferGraphs || this.closed || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.save().catch(() => undefined);
    }, this.persistence.saveDelayMs);
    this.saveTimer.unref();
  }

  private async saveChanged(): Promise<void> {
    const snapshots = this.snapshots;
    const logger = this.persistence?.logger;
    if (!snapshots || !logger || this.deferGraphs) return;
    try {
      await snapshots.prepare();
    } catch (error) {
      logger.warn({ err: error instanceof Error ? error.message : String(error) }, "memory index: the folder of saved graphs cannot be made; the next change retries");
      return;
    }
    for (const key of this.emptied) {
      if (this.partitions.has(key)) continue;
      await snapshots.remove(key).catch((error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, "memory index: removing a saved graph failed"));
    }
    this.emptied.clear();
    for (const [key, partition] of this.partitions) {
      if (!partition.dirty) continue;
      // Captured and written in this turn of the event loop: the graph file and its label map match.
      const what = partition.toSave();
      if (!what) continue;
      partition.dirty = false;
      const started = performance.now();
      try {
        await snapshots.save(key, partition.settings(), what);
        this.graphs.saved++;
        logger.debug({ vectors: what.count, ms: Math.round(performance.now() - started) }, "memory index graph saved");
      } catch (error) {
        partition.dirty = true;
        logger.warn({ err: error instanceof Error ? error.message : String(error) }, "memory index: saving a graph failed; the next change retries");
      }
    }
  }

  private partitionFor(partition: string, dimensions: number): Partition {
    let target = this.partitions.get(partition);
    if (!target) {
      target = new Partition(dimensions, this.options, this.snapshots !== null, this.graphs);
      this.partitions.set(partition, target);
    }
    return target;
  }
}
