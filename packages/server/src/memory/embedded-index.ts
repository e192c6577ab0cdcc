/**
 * @module memory/embedded-index
 * The embedded memory index, the single-node default: in this process, rebuilt from the durable rows at start
 * (memory-service.ts). Each partition keeps its vectors in a `FlatPartition` and answers exactly while it holds fewer
 * than `hnswFrom` vectors (exact is fast enough there and needs no recall caveat); from that size on it also keeps an
 * HNSW graph (usearch, Unum's maintained library: prebuilt binaries inside its npm package, no build step) and
 * answers from it.
 *
 * Filters are applied inside the search: an HNSW search asks the graph for 2×`k` neighbours, then 8× and 32×, keeping the
 * accepted ones, until `k` are found or the scores fall below the threshold; a filter that leaves fewer is selective,
 * and the partition is then scanned exactly, testing the filter before any arithmetic. So a selective filter never returns fewer hits
 * than exist, and a removed id is gone from both structures before `remove` resolves.
 */
import { Index as UsearchIndex, MetricKind, ScalarKind } from "usearch";
import { FlatPartition } from "./flat-partition.js";
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

/** A round of a filtered HNSW search asking for more than this share of the partition scans it exactly instead. */
const EXACT_SHARE = 0.1;
/** A filtered HNSW search tries the graph for 2×, 8× and 32× `k` neighbours; a filter that leaves too few scans exactly. */
const GRAPH_ROUNDS_FACTOR = 32;

class Partition {
  readonly flat: FlatPartition;
  graph: UsearchIndex | null = null;
  private readonly labelOf = new Map<string, bigint>();
  private readonly idOf = new Map<bigint, string>();
  private nextLabel = 1n;

  constructor(
    dimensions: number,
    private readonly options: EmbeddedIndexOptions,
  ) {
    this.flat = new FlatPartition(dimensions);
  }

  set(id: string, vector: Float32Array): void {
    this.flat.set(id, vector);
    if (this.graph) this.graphAdd(id, vector);
    else if (this.flat.size >= this.options.hnswFrom) this.buildGraph();
  }

  /** Adds many: the vectors first, then the graph in one multi-threaded batch. */
  setMany(entries: ReadonlyArray<{ id: string; vector: Float32Array }>): void {
    if (!this.graph) {
      for (const entry of entries) this.flat.set(entry.id, entry.vector);
      if (this.flat.size >= this.options.hnswFrom) this.buildGraph();
      return;
    }
    for (const entry of entries) this.flat.set(entry.id, entry.vector);
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
    if (!this.flat.delete(id)) return;
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
      // A filter that rejected most of two rounds is selective: the exact scan tests it before any arithmetic, and is
      // then cheaper than a graph search for thousands of neighbours.
      if (want > size * EXACT_SHARE || (search.accept && want > search.k * GRAPH_ROUNDS_FACTOR)) return this.flat.search(search.query, search.k, search.accept, threshold);
    }
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

  /** Builds the graph over every vector at once (usearch adds a batch on several threads). */
  private buildGraph(): void {
    const dimensions = this.flat.dimensions;
    this.graph = new UsearchIndex({
      dimensions,
      metric: MetricKind.Cos,
      quantization: ScalarKind.F32,
      connectivity: this.options.connectivity,
      expansion_add: this.options.expansionAdd,
      expansion_search: this.options.expansionSearch,
      multi: false,
    });
    const count = this.flat.size;
    const keys = new BigUint64Array(count);
    const matrix = new Float32Array(count * dimensions);
    let row = 0;
    for (const { id, vector } of this.flat.entries()) {
      const label = this.nextLabel++;
      this.labelOf.set(id, label);
      this.idOf.set(label, id);
      keys[row] = label;
      matrix.set(vector, row * dimensions);
      row++;
    }
    if (count > 0) this.graph.add(keys, matrix);
  }
}

export class EmbeddedIndex implements VectorIndex {
  readonly kind = "embedded";
  private readonly partitions = new Map<string, Partition>();
  private readonly options: EmbeddedIndexOptions;
  private loaded = true;

  constructor(options: Partial<EmbeddedIndexOptions> = {}) {
    this.options = { ...EMBEDDED_INDEX_DEFAULTS, ...options };
  }

  /** Marks the index as being (re)built: searches and writes are refused until `markLoaded`. */
  markLoading(): void {
    this.loaded = false;
  }

  markLoaded(): void {
    this.loaded = true;
  }

  check(): void {
    if (!this.loaded) throw new IndexUnavailableError("the memory index is being rebuilt from the stored memories");
  }

  async add(partition: string, id: string, vector: Float32Array): Promise<void> {
    this.partitionFor(partition, vector.length).set(id, vector);
  }

  async addMany(partition: string, entries: ReadonlyArray<{ id: string; vector: Float32Array }>): Promise<void> {
    if (entries.length === 0) return;
    this.partitionFor(partition, entries[0]!.vector.length).setMany(entries);
  }

  async remove(partition: string, ids: readonly string[]): Promise<void> {
    const target = this.partitions.get(partition);
    if (!target) return;
    for (const id of ids) target.delete(id);
    if (target.flat.size === 0) this.partitions.delete(partition);
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

  private partitionFor(partition: string, dimensions: number): Partition {
    let target = this.partitions.get(partition);
    if (!target) {
      target = new Partition(dimensions, this.options);
      this.partitions.set(partition, target);
    }
    return target;
  }
}
