/**
 * The memory index contract (vector-index-contract.ts) on the embedded index in both of its modes: exact (a
 * partition below `hnswFrom`) and HNSW (usearch, `hnswFrom` low enough that every test's partition uses the graph).
 * pgvector is not run: the Debian PostgreSQL the tests start has no `vector` extension (docs/data/memory.md).
 */
import { EmbeddedIndex } from "../../src/memory/embedded-index.js";
import { runVectorIndexContract } from "./vector-index-contract.js";

runVectorIndexContract("embedded, exact", () => new EmbeddedIndex({ hnswFrom: Infinity }), { minRecall: 1 });
runVectorIndexContract("embedded, HNSW", () => new EmbeddedIndex({ hnswFrom: 1 }), { minRecall: 0.95 });
