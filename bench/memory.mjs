/**
 * @module bench/memory
 * `node bench/memory.mjs`: semantic memory's embedded index (packages/server/dist/memory/embedded-index.js, build
 * first) at 100,000 memories × 384 dimensions (issue 17's figure): search latency p50/p99 of the HNSW index (usearch)
 * beside an exact scan of the same vectors, recall@10 of HNSW against that exact scan, and filtered searches (10% and
 * 1% of memories pass the filter, decided inside the search). Vectors are seeded and clustered (text embeddings
 * cluster by topic; uniform noise in 384 dimensions has no near neighbours to find, BENCH_MEMORY_DATA=uniform shows
 * that worst case). Prints figures only: a benchmark has no pass/fail. Goal (issue 17): p99 < 20 ms, recall ≥ 0.95.
 *
 * BENCH_MEMORY_COUNT (100000), BENCH_MEMORY_DIMS (384), BENCH_MEMORY_QUERIES (500), BENCH_MEMORY_EF (128),
 * BENCH_MEMORY_M (16), BENCH_MEMORY_DATA (clustered | uniform), BENCH_MEMORY_NOISE (0.6). Queries are drawn like the
 * memories (around the same centres, other noise), as a question is near the texts it asks about.
 */
import { cpus, loadavg, release, totalmem } from "node:os";
import { summarize, round } from "./lib/stats.mjs";

const { EmbeddedIndex } = await import("../packages/server/dist/memory/embedded-index.js");
const { FlatPartition } = await import("../packages/server/dist/memory/flat-partition.js");
const { normalise } = await import("../packages/server/dist/memory/vector-index.js");

const COUNT = Number(process.env.BENCH_MEMORY_COUNT ?? 100_000);
const DIMS = Number(process.env.BENCH_MEMORY_DIMS ?? 384);
const QUERIES = Number(process.env.BENCH_MEMORY_QUERIES ?? 500);
const EF = Number(process.env.BENCH_MEMORY_EF ?? 128);
const M = Number(process.env.BENCH_MEMORY_M ?? 16);
const DATA = process.env.BENCH_MEMORY_DATA ?? "clustered";
/** Spread of a memory around its topic centre (per dimension, the centre's being 1). */
const NOISE = Number(process.env.BENCH_MEMORY_NOISE ?? 0.6);
const K = 10;

/** mulberry32: seeded, so every run indexes the same vectors. */
function seeded(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Points around 1,000 seeded topic centres (the same for memories and queries), each with its own seeded noise. */
function generator(noiseSeed) {
  const centreRandom = seeded(1);
  const random = seeded(noiseSeed);
  const gaussianOf = (source) => () => Math.sqrt(-2 * Math.log(source() + 1e-12)) * Math.cos(2 * Math.PI * source());
  const centreGaussian = gaussianOf(centreRandom);
  const gaussian = gaussianOf(random);
  const centres = DATA === "uniform" ? [] : Array.from({ length: 1000 }, () => Float64Array.from({ length: DIMS }, centreGaussian));
  return (index) => {
    const vector = new Float64Array(DIMS);
    const centre = centres[index % 1000];
    for (let d = 0; d < DIMS; d++) vector[d] = (centre ? centre[d] : 0) + (centre ? NOISE : 1) * gaussian();
    return normalise(vector);
  };
}

const id = (index) => `mem_${String(index).padStart(12, "0")}`;
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;

console.log(`memory index bench: ${COUNT.toLocaleString("en")} × ${DIMS} dims (${DATA}), ${QUERIES} queries, k=${K}, HNSW M=${M} ef=${EF}`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${release()}, load ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);

const vectorOf = generator(11);
let start = process.hrtime.bigint();
const entries = Array.from({ length: COUNT }, (_, index) => ({ id: id(index), vector: vectorOf(index) }));
console.log(`generated in ${round(ms(start) / 1000)} s`);

const hnsw = new EmbeddedIndex({ hnswFrom: 1, connectivity: M, expansionSearch: EF });
start = process.hrtime.bigint();
await hnsw.addMany("bench", entries);
console.log(`HNSW built in ${round(ms(start) / 1000)} s (one batch, as at a restart)`);
const exact = new FlatPartition(DIMS, COUNT);
for (const entry of entries) exact.set(entry.id, entry.vector);

const queryOf = generator(2);
const queries = Array.from({ length: QUERIES }, (_, index) => queryOf(index * 7 + 3));

async function measure(label, search) {
  // A short warm-up so the first JIT compilations are not in the figures.
  for (const query of queries.slice(0, 20)) await search(query);
  const samples = [];
  const results = [];
  for (const query of queries) {
    const began = process.hrtime.bigint();
    results.push(await search(query));
    samples.push(ms(began));
  }
  return { label, ...summarize(samples), results };
}

function recall(results, truth) {
  let found = 0;
  results.forEach((hits, index) => {
    const wanted = new Set(truth[index].map((hit) => hit.id));
    for (const hit of hits) if (wanted.has(hit.id)) found++;
  });
  return found / (truth.length * K);
}

const rows = [];
const exactAll = await measure("exact scan", async (query) => exact.search(query, K));
const hnswAll = await measure("HNSW", (query) => hnsw.search({ partition: "bench", query, k: K }));
rows.push([exactAll, 1], [hnswAll, recall(hnswAll.results, exactAll.results)]);
for (const share of [10, 100]) {
  const accept = (memory) => Number(memory.slice(4)) % share === 0;
  const truth = await measure(`exact, filter ${100 / share}%`, async (query) => exact.search(query, K, accept));
  const filtered = await measure(`HNSW, filter ${100 / share}%`, (query) => hnsw.search({ partition: "bench", query, k: K, accept }));
  const short = filtered.results.filter((hits) => hits.length < K).length;
  rows.push([truth, 1], [filtered, recall(filtered.results, truth.results), short]);
}

console.log("");
console.log(`${"search".padEnd(24)}${"p50 ms".padStart(10)}${"p99 ms".padStart(10)}${"max ms".padStart(10)}${"recall@10".padStart(12)}${"  short answers"}`);
for (const [row, rowRecall, short] of rows) {
  console.log(`${row.label.padEnd(24)}${String(round(row.p50)).padStart(10)}${String(round(row.p99)).padStart(10)}${String(round(row.max)).padStart(10)}${rowRecall.toFixed(3).padStart(12)}${short === undefined ? "" : `  ${short} of ${QUERIES}`}`);
}
console.log("");
console.log(`goal (issue 17): HNSW p99 < 20 ms with recall@10 ≥ 0.95; rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`);
