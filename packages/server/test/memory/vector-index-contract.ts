/**
 * @module test/memory/vector-index-contract
 * The conformance suite every memory index backend must pass (src/memory/vector-index.ts): nearest first with
 * cosine scores; a removed id never returned again; a filter applied inside the search (a 1%-selective filter still
 * yields `k` hits while `k` match: the post-filter trap of pgvector's HNSW; a 2% filter finds what an exact scan
 * with the same filter finds); the threshold honoured; partitions isolated; a re-added id replaced, not doubled;
 * and recall@10 against an exact scan of the same vectors. `make` may be async (a backend that connects);
 * `settle` waits for what a backend does after a write in the background (pgvector's index builds).
 */
import { describe, expect, it } from "vitest";
import { FlatPartition } from "../../src/memory/flat-partition.js";
import { normalise, type VectorIndex } from "../../src/memory/vector-index.js";

/** mulberry32: a small seeded generator, so every run sees the same vectors. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` unit vectors around `clusters` random centres (text embeddings cluster by topic; uniform noise would not). */
export function clusteredVectors(count: number, dimensions: number, seed: number, clusters = 20): Float32Array[] {
  const random = seeded(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dimensions }, gaussian));
  return Array.from({ length: count }, (_, index) => normalise(centres[index % clusters]!.map((value) => value + 0.6 * gaussian())));
}

const id = (index: number) => `mem_${String(index).padStart(12, "0")}`;

export interface VectorIndexContractOptions {
  minRecall: number;
  /** Recall@20 under a 1-in-50 filter, when a backend's differs from `minRecall` (default: `minRecall`). */
  minFilteredRecall?: number;
  settle?: (index: VectorIndex) => Promise<void>;
}

export function runVectorIndexContract(name: string, make: () => VectorIndex | Promise<VectorIndex>, options: VectorIndexContractOptions): void {
  describe(`vector index contract: ${name}`, () => {
    const dims = 32;
    const vectors = clusteredVectors(3000, dims, 7);

    async function filled(count = vectors.length): Promise<VectorIndex> {
      const index = await make();
      await index.addMany("p", vectors.slice(0, count).map((vector, at) => ({ id: id(at), vector })));
      await options.settle?.(index);
      return index;
    }

    // The tests that only search share one filled index (filling is most of a database backend's time).
    let readOnly: Promise<VectorIndex> | null = null;
    const shared = () => (readOnly ??= filled());

    it("answers nearest first with cosine scores, at most k", async () => {
      const index = await make();
      await index.add("p", "a", normalise([1, 0, 0]));
      await index.add("p", "b", normalise([1, 1, 0]));
      await index.add("p", "c", normalise([0, 0, 1]));
      const hits = await index.search({ partition: "p", query: normalise([1, 0.1, 0]), k: 2 });
      expect(hits.map((hit) => hit.id)).toEqual(["a", "b"]);
      expect(hits[0]!.score).toBeCloseTo(1 / Math.sqrt(1.01), 5);
      expect(hits[1]!.score).toBeCloseTo(1.1 / Math.sqrt(2 * 1.01), 5);
      expect(index.size("p")).toBe(3);
      expect(await index.search({ partition: "nowhere", query: normalise([1, 0, 0]), k: 2 })).toEqual([]);
    });

    it("never returns a removed id, small or large", async () => {
      const index = await filled();
      const query = vectors[5]!;
      const before = await index.search({ partition: "p", query, k: 10 });
      expect(before[0]!.id).toBe(id(5));
      await index.remove("p", before.map((hit) => hit.id));
      const after = await index.search({ partition: "p", query, k: 10 });
      expect(after).toHaveLength(10);
      for (const hit of before) expect(after.map((entry) => entry.id)).not.toContain(hit.id);
      expect(index.size("p")).toBe(vectors.length - 10);
    });

    it("applies a selective filter inside the search: k hits whenever k match", async () => {
      const index = await shared();
      // One vector in a hundred passes, spread over every cluster.
      const accept = (memory: string) => Number(memory.slice(4)) % 100 === 3;
      for (const query of [vectors[0]!, vectors[1234]!, normalise(Array.from({ length: dims }, (_, at) => (at % 3) - 1))]) {
        const hits = await index.search({ partition: "p", query, k: 10, accept });
        expect(hits).toHaveLength(10);
        for (const hit of hits) expect(accept(hit.id)).toBe(true);
      }
      // Fewer match than asked: every one of them, no more.
      const rare = (memory: string) => memory === id(42) || memory === id(2999);
      expect((await index.search({ partition: "p", query: vectors[0]!, k: 10, accept: rare })).map((hit) => hit.id).sort()).toEqual([id(42), id(2999)]);
    });

    it("finds under a 1-in-50 filter what an exact scan with the filter finds", async () => {
      const index = await shared();
      const exact = new FlatPartition(dims);
      vectors.forEach((vector, at) => exact.set(id(at), vector));
      const accept = (memory: string) => Number(memory.slice(4)) % 50 === 17;
      let found = 0;
      const queries = clusteredVectors(10, dims, 31);
      for (const query of queries) {
        const hits = await index.search({ partition: "p", query, k: 20, accept });
        expect(hits).toHaveLength(20);
        for (let at = 1; at < hits.length; at++) expect(hits[at]!.score).toBeLessThanOrEqual(hits[at - 1]!.score + 1e-6);
        const truth = new Set(exact.search(query, 20, accept).map((hit) => hit.id));
        for (const hit of hits) if (truth.has(hit.id)) found++;
      }
      expect(found / (queries.length * 20)).toBeGreaterThanOrEqual(options.minFilteredRecall ?? options.minRecall);
    });

    it("honours the threshold", async () => {
      const index = await shared();
      const hits = await index.search({ partition: "p", query: vectors[9]!, k: 50, threshold: 0.5 });
      expect(hits.length).toBeGreaterThan(0);
      for (const hit of hits) expect(hit.score).toBeGreaterThanOrEqual(0.5);
      const exact = new FlatPartition(dims);
      vectors.forEach((vector, at) => exact.set(id(at), vector));
      expect(hits.length).toBe(Math.min(50, exact.search(vectors[9]!, 3000, undefined, 0.5).length));
    });

    it("keeps partitions apart and replaces a re-added id", async () => {
      const index = await make();
      await index.add("p", "x", normalise([1, 0]));
      await index.add("q", "y", normalise([1, 0]));
      expect((await index.search({ partition: "p", query: normalise([1, 0]), k: 5 })).map((hit) => hit.id)).toEqual(["x"]);
      await index.add("p", "x", normalise([0, 1]));
      const hits = await index.search({ partition: "p", query: normalise([0, 1]), k: 5 });
      expect(hits).toHaveLength(1);
      expect(hits[0]!.score).toBeCloseTo(1, 5);
      await index.remove("p", ["x"]);
      expect(await index.search({ partition: "p", query: normalise([0, 1]), k: 5 })).toEqual([]);
      expect(index.size("q")).toBe(1);
    });

    it(`finds the exact nearest neighbours (recall@10 ≥ ${options.minRecall})`, async () => {
      const index = await shared();
      const exact = new FlatPartition(dims);
      vectors.forEach((vector, at) => exact.set(id(at), vector));
      const queries = clusteredVectors(50, dims, 99);
      let found = 0;
      for (const query of queries) {
        const truth = new Set(exact.search(query, 10).map((hit) => hit.id));
        for (const hit of await index.search({ partition: "p", query, k: 10 })) if (truth.has(hit.id)) found++;
      }
      expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(options.minRecall);
    });
  });
}
