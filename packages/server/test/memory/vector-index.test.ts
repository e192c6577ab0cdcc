/**
 * The memory index contract (vector-index-contract.ts) on the embedded index in both of its modes: exact (a
 * partition below `hnswFrom`) and HNSW (usearch, `hnswFrom` low enough that every test's partition uses the graph).
 * The pgvector backend runs the same contract in pgvector-index.test.ts (against PGlite with pgvector: the system
 * PostgreSQL the other tests start has no `vector` extension).
 */
import { describe, expect, it } from "vitest";
import { EmbeddedIndex } from "../../src/memory/embedded-index.js";
import { FlatPartition } from "../../src/memory/flat-partition.js";
import { clusteredVectors, runVectorIndexContract } from "./vector-index-contract.js";

runVectorIndexContract("embedded, exact", () => new EmbeddedIndex({ hnswFrom: Infinity }), { minRecall: 1 });
runVectorIndexContract("embedded, HNSW", () => new EmbeddedIndex({ hnswFrom: 1 }), { minRecall: 0.95 });

describe("embedded HNSW under a filter", () => {
  it("walks the graph no deeper than it ranks well (expansionSearch), then scans exactly: the same hits as the exact scan", async () => {
    const dims = 32;
    const vectors = clusteredVectors(6000, dims, 7);
    // A narrow beam (16): a 1-in-13 filter (spread over the 20 clusters) leaves too few of the 20 neighbours the graph
    // ranks well, so every search goes on exactly. Before, rounds went on to 320 neighbours ranked by that beam.
    const index = new EmbeddedIndex({ hnswFrom: 1, expansionSearch: 16 });
    await index.addMany("p", vectors.map((vector, at) => ({ id: `mem-${at}`, vector })));
    const exact = new FlatPartition(dims);
    vectors.forEach((vector, at) => exact.set(`mem-${at}`, vector));
    const accept = (memory: string) => Number(memory.slice(4)) % 13 === 3;
    for (const query of clusteredVectors(40, dims, 99)) {
      const hits = await index.search({ partition: "p", query, k: 10, accept });
      expect(hits.map((hit) => hit.id)).toEqual(exact.search(query, 10, accept).map((hit) => hit.id));
    }
  });
});
