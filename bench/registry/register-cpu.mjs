/**
 * @module bench/registry/register-cpu
 * CPU per registration of our server, the figure that bounds registrations/s on a quiet machine (issue 13):
 * utime+stime of the `kai serve` process (from /proc) over a fixed number of `POST /api/services/register`
 * requests, divided by that number. CPU time is steadier than rates: other work on the machine slows the server's
 * requests far more than it changes the CPU each one costs (it still inflates it somewhat, through shared caches).
 * Several builds are compared in one run: one server each (SQLite, `normal` by default, so the disk's fsync stays out
 * of the figure), taking turns in short batches (A B, B A, …), so a change of the machine's load hits every build alike.
 *
 *   node bench/registry/register-cpu.mjs [--main name=path/to/cli/dist/main.js …] [--rounds 20] [--count 20000]
 *        [--warmup 2000] [--in-flight 64] [--sync normal|full] [--postgres]
 *
 * --postgres: the servers run on one PostgreSQL the script starts (a database each, as bench/run.mjs does); the
 * figure is still our server's CPU only (PostgreSQL's is not counted).
 *
 * Without --main it measures this checkout's build. BENCH_SERVER_CPU_PROF=<dir> writes each server's CPU profile.
 */
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { CLI_MAIN, startRegistryServer } from "./server-process.mjs";
import { call, poolFor } from "./http-client.mjs";
import { processCpuMs } from "../lib/proc-stats.mjs";
import { serviceRecordJson } from "../lib/service-record.mjs";
import { findPostgres, startPostgres } from "../lib/postgres-process.mjs";
import "../lib/cleanup.mjs";

function options(argv) {
  const result = { mains: [], rounds: 20, count: 20_000, warmup: 2_000, inFlight: 64, sync: "normal", postgres: false };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    i++;
    if (flag === "--main") {
      const at = value.indexOf("=");
      result.mains.push(at > 0 ? { name: value.slice(0, at), main: resolve(value.slice(at + 1)) } : { name: value, main: resolve(value) });
    } else if (flag === "--rounds") result.rounds = Number(value);
    else if (flag === "--count") result.count = Number(value);
    else if (flag === "--warmup") result.warmup = Number(value);
    else if (flag === "--in-flight") result.inFlight = Number(value);
    else if (flag === "--sync") result.sync = value;
    else if (flag === "--postgres") {
      result.postgres = true;
      i--;
    }
    else throw new Error(`unknown option ${flag}`);
  }
  if (result.mains.length === 0) result.mains.push({ name: "checkout", main: CLI_MAIN });
  return result;
}

/** `count` registrations of fresh 600-byte records, `inFlight` at a time; every answer must be 201. */
async function register(pool, token, count, inFlight) {
  let next = 0;
  async function worker() {
    while (next < count) {
      next++;
      await call(pool, { method: "POST", path: "/api/services/register", token, body: serviceRecordJson({ index: next }), expect: [201] });
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/** A running server of one build, its pool and client token, and what was measured on it so far. */
async function startTarget({ name, main }, settings, pg) {
  const database = pg ? await pg.createDatabase("cpu") : undefined;
  const server = await startRegistryServer({ synchronous: settings.sync, main, ...(database ? { postgresUrl: database.url } : {}) });
  const pool = poolFor(server.url, settings.inFlight, { posts: true });
  const minted = await call(pool, {
    method: "POST",
    path: "/api/tokens",
    token: server.adminToken,
    body: JSON.stringify({ scopes: ["services:read", "services:write", "services:heartbeat"], owner: "bench", ttl: "1d", name: "bench" }),
    expect: [201],
    parse: true,
  });
  await register(pool, minted.token, settings.warmup, settings.inFlight);
  return { name, server, pool, token: minted.token, cpuMs: 0, wallMs: 0, count: 0, batches: [] };
}

/** One batch on one target: its server's CPU and the wall time, added to the target's sums. */
async function batch(target, count, inFlight) {
  const cpuBefore = processCpuMs(target.server.pid);
  const began = performance.now();
  await register(target.pool, target.token, count, inFlight);
  const wallMs = performance.now() - began;
  const cpuMs = processCpuMs(target.server.pid) - cpuBefore;
  target.cpuMs += cpuMs;
  target.wallMs += wallMs;
  target.count += count;
  target.batches.push((cpuMs * 1000) / count);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

async function main() {
  const settings = options(process.argv.slice(2));
  const perBatch = Math.ceil(settings.count / settings.rounds);
  console.log(
    `registrations: ${settings.count} per build in ${settings.rounds} interleaved batches of ${perBatch} (after ${settings.warmup} warm-up), ` +
      `${settings.inFlight} in flight, ${settings.postgres ? "PostgreSQL" : `SQLite ${settings.sync}`}; load average at start ${loadavg().map((value) => value.toFixed(2)).join(" ")}`,
  );
  // Every build's server runs for the whole measurement and they take turns batch by batch (A B, then B A), so a
  // change of the machine's load falls on every build alike. Only one of them is loaded at any moment.
  const targets = [];
  let pg;
  if (settings.postgres) {
    const found = findPostgres();
    if (found.skip) throw new Error(found.skip);
    pg = await startPostgres(found);
  }
  try {
    for (const entry of settings.mains) targets.push(await startTarget(entry, settings, pg));
    for (let round = 0; round < settings.rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) await batch(target, perBatch, settings.inFlight);
    }
  } finally {
    for (const target of targets) {
      await target.pool.close();
      await target.server.stop();
    }
    await pg?.stop();
  }
  for (const target of targets) {
    const us = (target.cpuMs * 1000) / target.count;
    console.log(
      `${target.name.padEnd(10)} ${us.toFixed(0).padStart(5)} µs CPU/registration (batches: median ${median(target.batches).toFixed(0)}, ` +
        `min ${Math.min(...target.batches).toFixed(0)}, max ${Math.max(...target.batches).toFixed(0)}); ` +
        `${((target.count * 1000) / target.wallMs).toFixed(0)}/s; server ${((target.cpuMs / target.wallMs) * 100).toFixed(0)}% of a core`,
    );
  }
  console.log(`load average at the end ${loadavg().map((value) => value.toFixed(2)).join(" ")}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
