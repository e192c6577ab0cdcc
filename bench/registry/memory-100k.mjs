#!/usr/bin/env node
/**
 * @module bench/registry/memory-100k
 * How much memory our server holds with many services registered (issue 19: the goal is < 300 MB RSS at
 * 100,000). Starts `kai serve` on SQLite (synchronous normal: the load is not what is measured), registers
 * `--count` services through the API (the registry bench's 600-byte record, no ttl), waits for the server to
 * settle and reports its RSS; with `--heap-snapshot` it also asks the server for a V8 heap snapshot
 * (`--heapsnapshot-signal`) and prints the largest shares of the heap by constructor, so one can see whose
 * copy of the records the memory is (a snapshot of a 100k heap is large: use `--count 20000` for it).
 *
 *   node bench/registry/memory-100k.mjs [--count 100000] [--concurrency 32] [--settle 90] [--heap-snapshot] [--fanout]
 *
 * BENCH_KAI_MAIN runs another build (e.g. a worktree of HEAD) for before/after figures on the same machine.
 */
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { processRssMb } from "../lib/proc-stats.mjs";
import { sleep } from "../lib/net.mjs";
import { serviceRecordJson } from "../lib/service-record.mjs";
import { call, poolFor } from "./http-client.mjs";
import { startKaiServe } from "./server-process.mjs";
import { wsBroadcastFloor } from "./ws-broadcast-floor.mjs";
import { wsFanout } from "./ws-fanout.mjs";

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "100000" },
    concurrency: { type: "string", default: "32" },
    "heap-snapshot": { type: "boolean", default: false },
    top: { type: "string", default: "25" },
    settle: { type: "string", default: "90" },
    "keep-snapshot": { type: "string" },
    fanout: { type: "boolean", default: false },
  },
});
const count = Number(args.count);
const concurrency = Number(args.concurrency);

const config = ["logging:", "  level: warn", "rateLimit:", "  enabled: false", "storage:", "  sqlite:", "    synchronous: normal", ""].join("\n");
const snapshotDir = args["heap-snapshot"] ? mkdtempSync(join(tmpdir(), "kai-heap-")) : undefined;
const env = snapshotDir ? { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshotDir}` } : {};

/** VmRSS and VmHWM (peak) of `pid` from /proc, MB. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

/**
 * Self size by node type and constructor over a heap snapshot (not retained size: enough to see which kinds of
 * object the heap is made of). Strings are grouped by type only.
 */
function summarise(path, top) {
  const snapshot = JSON.parse(readFileSync(path, "utf8"));
  const meta = snapshot.snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((field) => fields.indexOf(field));
  const groups = new Map();
  let total = 0;
  const nodes = snapshot.nodes;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const size = nodes[i + sizeAt];
    total += size;
    const key = type === "object" || type === "closure" || type === "native" ? `${type} ${snapshot.strings[nodes[i + nameAt]]}` : type === "hidden" || type === "array" || type === "code" ? `${type} ${snapshot.strings[nodes[i + nameAt]].slice(0, 40)}` : type;
    const group = groups.get(key) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += size;
    groups.set(key, group);
  }
  const rows = [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top);
  console.log(`heap snapshot: ${(total / 1048576).toFixed(1)} MB in ${nodes.length / width} objects; largest groups by self size:`);
  for (const [key, { count: n, bytes }] of rows) console.log(`  ${(bytes / 1048576).toFixed(1).padStart(7)} MB ${String(n).padStart(9)}  ${key}`);
}

/** The V8 heap as the server's /metrics reports it (prom-client's default metrics), MB. */
async function heapOf(server) {
  try {
    const response = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    const text = await response.text();
    const value = (name) => Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1] ?? NaN) / 1048576;
    return `used ${value("kai_nodejs_heap_size_used_bytes").toFixed(0)} MB of ${value("kai_nodejs_heap_size_total_bytes").toFixed(0)} MB, external ${value("kai_nodejs_external_memory_bytes").toFixed(0)} MB`;
  } catch (error) {
    return `unknown (${error.message})`;
  }
}

const server = await startKaiServe({ name: "memory", config, env });
try {
  const idle = memoryOf(server.pid);
  console.log(`server pid ${server.pid}: idle RSS ${idle.rssMb.toFixed(0)} MB, V8 heap ${await heapOf(server)}`);
  const pool = poolFor(server.url, concurrency, { posts: true });
  let next = 0;
  let errors = 0;
  const started = performance.now();
  async function worker() {
    while (next < count) {
      const index = next++;
      try {
        await call(pool, { method: "POST", path: "/api/services/register", token: server.adminToken, body: serviceRecordJson({ id: `svc-${randomUUID()}`, index, ttl: undefined }), expect: [201] });
      } catch (error) {
        if (++errors === 1) console.log(`  first error: ${error.message}`);
        if (errors > 100) throw error;
      }
      if (index % 20000 === 19999) console.log(`  ${index + 1} registered, RSS ${memoryOf(server.pid).rssMb.toFixed(0)} MB`);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  await pool.close();
  const seconds = (performance.now() - started) / 1000;
  console.log(`registered ${count - errors} services in ${seconds.toFixed(1)} s (${Math.round((count - errors) / seconds)}/s), ${errors} errors`);
  // Let pending model-list fetches, group commits and the GC settle before reading the figure an operator would
  // see: V8 gives back the heap pages the load's garbage grew only after its memory reducer ran on an idle heap.
  // On 2026-12-04 that was 35-45 s after the load. In a traced run on 2026-12-06 the node ran no collection at all
  // once the load ended, and the reducer started 62 s after the last one (its watchdog, as we read V8: the allocation
  // rate it judges idleness by is sampled at collections, so it stayed the load's); 60 s missed it in three runs of
  // four: hence 90 s by default. See --trace-gc via BENCH_SERVER_NODE_FLAGS: three "Mark-Compact (reduce)" lines.
  for (let waited = 0; waited < Number(args.settle); waited += 10) {
    await sleep(Math.min(10, Number(args.settle) - waited) * 1000);
    console.log(`  idle ${Math.min(waited + 10, Number(args.settle))} s: RSS ${memoryOf(server.pid).rssMb.toFixed(0)} MB, V8 heap ${await heapOf(server)}`);
  }
  const loaded = memoryOf(server.pid);
  console.log(`RSS with ${count} services: ${loaded.rssMb.toFixed(0)} MB (peak ${loaded.peakMb.toFixed(0)} MB; processRssMb ${processRssMb(server.pid)?.toFixed?.(0) ?? "?"} MB)`);
  // Anonymous memory is the heaps (V8's and SQLite's page caches via malloc); file-backed is code and mapped files.
  const rollup = readFileSync(`/proc/${server.pid}/smaps_rollup`, "utf8");
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(rollup)?.[1] ?? NaN) / 1024;
  console.log(`  V8 heap ${await heapOf(server)}`);
  console.log(`  anonymous ${kb("Anonymous").toFixed(0)} MB, file-backed ${(kb("Rss") - kb("Anonymous")).toFixed(0)} MB; threads ${readdirSync(`/proc/${server.pid}/task`).length}`);
  if (args.fanout) {
    // The registry bench's fan-out (phase 4) on this loaded server: 1,000 subscribers, one registration at a time.
    const settings = { watchSubscribers: 1000, watchReps: 100, watchWarmupReps: 2, watchGapMs: 100, watchTimeoutMs: 5000, watchWorkers: 4 };
    await wsFanout(server, server.adminToken, settings, (line) => console.log(line));
    // The floor: the same subscribers on a bare ws broadcast server (ws-broadcast-floor.mjs).
    await wsBroadcastFloor(settings, (line) => console.log(line));
  }
  if (snapshotDir) {
    process.kill(server.pid, "SIGUSR2");
    let file;
    for (let i = 0; i < 600 && !file; i++) {
      await sleep(1000);
      const found = readdirSync(snapshotDir).find((name) => name.endsWith(".heapsnapshot"));
      // The file is complete when its size stops changing.
      if (found) {
        const size = statSync(join(snapshotDir, found)).size;
        await sleep(2000);
        if (statSync(join(snapshotDir, found)).size === size && size > 0) file = join(snapshotDir, found);
      }
    }
    // Writing the snapshot ran a full GC: the heap without the load's uncollected garbage. (Not the RSS: the
    // snapshot writer's own buffers inflate it for a while.)
    await sleep(5000);
    console.log(`after the snapshot's full GC: V8 heap ${await heapOf(server)}`);
    if (!file) console.log("no heap snapshot appeared");
    else {
      summarise(file, Number(args.top));
      if (args["keep-snapshot"]) copyFileSync(file, args["keep-snapshot"]);
    }
  }
} finally {
  await server.stop();
  if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
}
