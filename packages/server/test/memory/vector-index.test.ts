/**
 * The memory index contract (vector-index-contract.ts) on the embedded index in both of its modes: exact (a
 * partition below `hnswFrom`) and HNSW (usearch, `hnswFrom` low enough that every test's partition uses the graph).
 * The pgvector backend runs the same contract in pgvector-index.test.ts (against PGlite with pgvector: the system
 * PostgreSQL the other tests start has no `vector` extension).
 */
import { EmbeddedIndex } from "../../src/memory/embedded-index.js";
import { runVectorIndexContract } from "./vector-index-contract.js";

runVectorIndexContract("embedded, exact", () => new EmbeddedIndex({ hnswFrom: Infinity }), { minRecall: 1 });
runVectorIndexContract("embedded, HNSW", () => new EmbeddedIndex({ hnswFrom: 1 }), { minRecall: 0.95 });
