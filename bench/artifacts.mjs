/**
 * @module bench/artifacts
 * `node bench/artifacts.mjs` (after `npm run build`): artifact upload throughput (issue 17) against writing the same
 * bytes straight to disk, side by side, on the same filesystem (the temp dir):
 * 1. disk: the bytes written to a new file in 1 MiB chunks and fsynced (the durability an upload gets), and the
 *    same without fsync;
 * 2. in process: `ArtifactService.upload` (hash, sniff, stage, fsync, rename, SQLite row; synchronous=FULL) from a
 *    stream of the bytes, no HTTP;
 * 3. through the API: `POST /api/artifacts` on a spawned `kai serve` (raw body over loopback HTTP).
 * Every upload is fresh random bytes (dedupe would skip the write). The goal: uploads ≥ 0.8× the fsynced disk write.
 * Prints figures only. BENCH_QUICK=1 for smaller files; BENCH_ARTIFACT_MB sets the file size (default 64).
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("../packages/server/dist/", import.meta.url));
if (!existsSync(join(DIST, "artifacts/artifact-service.js"))) {
  process.stderr.write("bench/artifacts: packages/server/dist is not built (run npm run build)\n");
  process.exit(1);
}
const { ArtifactService } = await import(join(DIST, "artifacts/artifact-service.js"));
const { FsBlobStore } = await import(join(DIST, "artifacts/fs-blob-store.js"));
const { ShareLinks } = await import(join(DIST, "artifacts/share-links.js"));
const { SqliteStore } = await import(join(DIST, "storage/sqlite/sqlite-store.js"));

const quick = process.env.BENCH_QUICK === "1";
const MB = Number(process.env.BENCH_ARTIFACT_MB ?? (quick ? 16 : 64));
const RUNS = quick ? 3 : 5;
const SIZE = MB * 1024 * 1024;
const CHUNK = 1024 * 1024;
const log = (message) => process.stdout.write(`${message}\n`);

/** The bytes of one run: random (no dedupe), made before the clock starts. */
const fresh = () => randomBytes(SIZE);
/** A stream of `bytes` in 1 MiB chunks (how a socket or a file read delivers them). */
const chunked = (bytes) => Readable.from((function* () {
  for (let offset = 0; offset < bytes.length; offset += CHUNK) yield bytes.subarray(offset, offset + CHUNK);
})());
/** MiB/s of one timed run of `run` over fresh bytes. */
async function timed(run) {
  const bytes = fresh();
  const started = performance.now();
  await run(bytes);
  return MB / ((performance.now() - started) / 1000);
}
const median = (rates) => [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)];

/** The bytes written to a new file in 1 MiB chunks, fsynced before close when `flush`. */
const diskWriter = (dir, flush) => {
  let n = 0;
  return (bytes) => pipeline(chunked(bytes), createWriteStream(join(dir, `raw-${flush}-${n++}`), { flush }));
};

/** `ArtifactService.upload` in this process, over SQLite (synchronous=FULL) and the filesystem blob store. */
async function inProcessUploader(dir) {
  const sqlite = SqliteStore.open({ path: join(dir, "kai.db"), synchronous: "full" });
  const service = new ArtifactService({
    store: sqlite.artifactStore(),
    blobs: await FsBlobStore.open(join(dir, "artifacts")),
    // No share link is made here: the key is never used.
    shares: new ShareLinks({ get publicKey() { throw new Error("unused"); }, get privateKey() { throw new Error("unused"); } }),
    maxBytes: 2 * SIZE,
  });
  const principal = { tokenId: "bench", owner: "bench", scopes: ["artifacts:write"], expiresAt: Date.now() + 3_600_000 };
  let n = 0;
  const upload = async (bytes) => {
    const result = await service.upload(chunked(bytes), { name: `bench-${n++}.bin` }, principal);
    if (!result.created || result.deduplicated) throw new Error("a bench upload was deduplicated");
  };
  // One untimed upload first: the code paths warmed, as on a node that has been running.
  await upload(fresh());
  return { upload, close: () => sqlite.close() };
}

/** `POST /api/artifacts` on a spawned `kai serve`, or why it cannot run. */
async function apiUploader() {
  const { registryUnavailable, startKaiServe } = await import("./registry/server-process.mjs");
  const why = registryUnavailable();
  if (why) return { skipped: why };
  const config = ["logging:", "  level: warn", "rateLimit:", "  enabled: false", "server:", "  requestTimeoutMs: 600000", "artifacts:", `  maxBytes: ${2 * SIZE}`, ""].join("\n");
  const server = await startKaiServe({ name: "artifacts", config });
  const headers = { authorization: `Bearer ${server.adminToken}`, "content-type": "application/octet-stream" };
  // node:http rather than fetch: the client's own cost stays out of the figure (undici copies a Buffer body).
  const post = (bytes, name) => new Promise((resolve, reject) => {
    const request = httpRequest(`${server.url}/api/artifacts?name=${name}`, { method: "POST", headers: { ...headers, "content-length": String(bytes.length) } }, (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => (response.statusCode === 201 ? resolve() : reject(new Error(`upload answered ${response.statusCode}: ${Buffer.concat(chunks)}`))));
    });
    request.on("error", reject);
    request.end(bytes);
  });
  try {
    await post(fresh(), "warm-up.bin");
  } catch (error) {
    await server.stop();
    return { skipped: `POST /api/artifacts failed (${error.message}): the artifact routes are not in this build` };
  }
  let n = 0;
  return { upload: (bytes) => post(bytes, `bench-${n++}.bin`), close: () => server.stop() };
}

log(`kAI artifact upload benchmark${quick ? " (BENCH_QUICK)" : ""}: ${MB} MiB files, median of ${RUNS}, Node ${process.version}`);
const dir = mkdtempSync(join(tmpdir(), "kai-bench-artifacts-"));
// The runs are interleaved (one of each per round), so the machine's changing load weighs on every column alike.
const rates = { synced: [], unsynced: [], local: [], api: [] };
let api;
const local = await inProcessUploader(dir);
try {
  api = await apiUploader();
  const synced = diskWriter(dir, true);
  const unsynced = diskWriter(dir, false);
  for (let round = 0; round < RUNS; round++) {
    rates.synced.push(await timed(synced));
    rates.unsynced.push(await timed(unsynced));
    rates.local.push(await timed(local.upload));
    if (!api.skipped) rates.api.push(await timed(api.upload));
  }
} finally {
  await local.close();
  if (api && !api.skipped) await api.close();
  rmSync(dir, { recursive: true, force: true });
}
const rawSynced = median(rates.synced);
const row = (label, rate) => log(`| ${label.padEnd(52)} | ${rate.toFixed(0).padStart(6)} | ${(rate / rawSynced).toFixed(2).padStart(5)}× |`);
log("");
log(`| ${"MiB/s (median of the rounds)".padEnd(52)} | figure | vs disk |`);
log(`| ${"-".repeat(52)} | -----: | ------: |`);
row("disk: write + fsync (the same durability)", rawSynced);
row("disk: write without fsync", median(rates.unsynced));
row("in process: ArtifactService.upload (SQLite FULL)", median(rates.local));
if (api.skipped) log(`| ${"through the API".padEnd(52)} | skipped: ${api.skipped} |`);
else row("through the API: POST /api/artifacts (loopback HTTP)", median(rates.api));
log("");
log("goal: uploads ≥ 0.8× the fsynced disk write of the same bytes");
