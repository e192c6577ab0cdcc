/**
 * @module bench/run
 * `npm run bench`: the registry benchmark side by side with etcd, in one run on one machine, with our
 * registry in two columns: on SQLite and on PostgreSQL (issue 13; a PostgreSQL the bench starts itself with
 * durable default settings). Phases (each on a fresh server / fresh etcd / fresh database): 1 registrations
 * per durability mode, 2 heartbeats on 10k services, 3 filtered discovery at 100k services, 4 one change
 * fanned out to 1,000 watchers; then two instances on one PostgreSQL (bench/cluster/cluster-phases.mjs):
 * a change on A seen on B's watch stream, and leader failover after kill -9; 6 the bulk load (issue 19: 100k
 * services through POST /api/services/bulk beside etcd's load, same run).
 * Prints figures only: a benchmark has no pass/fail on timings. A phase that errors is reported and
 * the run goes on; the exit code is 1 when any phase failed, so a broken bench does not go unnoticed.
 *
 * BENCH_QUICK=1 for a ~1 minute smoke run; BENCH_ONLY=sqlite,postgres,etcd,cluster (any of them; `registry`
 * = sqlite,postgres) to run some columns; BENCH_PHASES=registrations,heartbeats,discovery,bulk for some phases.
 */
import { cpus, release, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { settings } from "./lib/settings.mjs";
import { DURABILITY, renderReport, writeResults } from "./lib/report.mjs";
import { ensureEtcd } from "./etcd/etcd-process.mjs";
import { etcdDiscoveryAndWatch, etcdHeartbeats, etcdLoad, etcdRegistrations } from "./etcd/etcd-phases.mjs";
import { registryDiscoveryAndWatch, registryHeartbeats, registryRegistrations } from "./registry/registry-phases.mjs";
import { registryUnavailable } from "./registry/server-process.mjs";
import { registryApplyLoad, registryBulkLoad } from "./registry/bulk-load.mjs";
import { wsBroadcastFloor } from "./registry/ws-broadcast-floor.mjs";
import { clusterBench } from "./cluster/cluster-phases.mjs";
import { fsyncProbe } from "./lib/fsync-probe.mjs";
import { findPostgres, startPostgres } from "./lib/postgres-process.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const log = (message) => process.stderr.write(`${message}\n`);
const startedAt = new Date();

const results = {
  startedAt: startedAt.toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
  },
  settings,
  durability: DURABILITY,
  registry: { registrations: {} },
  postgres: {},
  etcd: {},
  skipped: {},
  errors: [],
};

async function phase(name, fn) {
  const started = performance.now();
  log(`\n== ${name}`);
  try {
    const value = await fn();
    log(`   (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return value;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`   FAILED: ${message}`);
    results.errors.push({ phase: name, message });
    return undefined;
  }
}

log(`kAI registry benchmark${settings.quick ? " (BENCH_QUICK: smoke-run sizes, figures are not comparable)" : ""}`);
log(`machine: ${results.machine.cpus} x ${results.machine.cpuModel}, ${results.machine.memoryGb} GB, Linux ${results.machine.kernel}, Node ${results.machine.node}`);
log("load generator: this process (undici keep-alive pools, ws in worker threads); servers run as separate processes");

let runRegistry = settings.runRegistry;
let runEtcd = settings.runEtcd;
const etcd = runEtcd ? ensureEtcd(log) : { skip: `BENCH_ONLY=${process.env.BENCH_ONLY}` };
if (etcd.skip) {
  runEtcd = false;
  results.skipped.etcd = etcd.skip;
  log(`etcd columns skipped: ${etcd.skip}`);
} else {
  results.machine.etcd = etcd.version;
  log(`etcd: ${etcd.path} (${etcd.version})`);
}
let runPostgres = settings.runPostgres;
let runCluster = settings.runCluster;
const unavailable = registryUnavailable();
if (unavailable) {
  for (const [side, wanted] of [["registry", runRegistry], ["postgres", runPostgres], ["cluster", runCluster]]) if (wanted) results.skipped[side] = unavailable;
  runRegistry = runPostgres = runCluster = false;
  log(`our registry skipped: ${unavailable}`);
}
/** One PostgreSQL for the whole run; each phase group gets a fresh database on it. */
let pg;
if (runPostgres || runCluster) {
  const found = findPostgres();
  if (found.skip) {
    if (runPostgres) results.skipped.postgres = found.skip;
    if (runCluster) results.skipped.cluster = found.skip;
    runPostgres = runCluster = false;
    log(`PostgreSQL column and two-instance bench skipped: ${found.skip}`);
  } else {
    try {
      pg = await startPostgres(found);
      results.machine.postgres = found.version;
      results.postgresSettings = pg.settings;
      log(`PostgreSQL: ${found.bin} (${found.version}); ${Object.entries(pg.settings).map(([key, value]) => `${key}=${value}`).join(" ")}`);
    } catch (error) {
      const reason = `PostgreSQL did not start: ${error.message}`;
      if (runPostgres) results.skipped.postgres = reason;
      if (runCluster) results.skipped.cluster = reason;
      runPostgres = runCluster = false;
      log(reason);
    }
  }
}
// What one durable commit costs this disk: the bound of every write figure below (SQLite full, PostgreSQL, etcd).
results.machine.fsync = fsyncProbe();
log(`disk (temp dir): 8 KB write + fdatasync p50 ${results.machine.fsync.p50.toFixed(2)} ms, p99 ${results.machine.fsync.p99.toFixed(2)} ms`);

const postgresTarget = { kind: "postgres", pg };
const wants = (name) => settings.phases.includes(name);
try {
  if (runRegistry && wants("registrations")) {
    for (const mode of settings.durabilityModes) {
      results.registry.registrations[mode] = await phase(`1. registrations, ours on SQLite (synchronous=${mode})`, () =>
        registryRegistrations(settings, { kind: "sqlite", synchronous: mode }, log));
    }
  }
  if (runPostgres && wants("registrations")) {
    results.postgres.registrations = await phase("1. registrations, ours on PostgreSQL (synchronous_commit=on)", () => registryRegistrations(settings, postgresTarget, log));
  }
  if (runEtcd && wants("registrations")) results.etcd.registrations = await phase("1. registrations, etcd (lease grant + put)", () => etcdRegistrations(etcd.path, settings, log));
  if (runRegistry && wants("heartbeats")) results.registry.heartbeats = await phase(`2. heartbeats, ours on SQLite (${settings.heartbeatServices} services)`, () => registryHeartbeats(settings, log));
  if (runPostgres && wants("heartbeats")) {
    results.postgres.heartbeats = await phase(`2. heartbeats, ours on PostgreSQL (${settings.heartbeatServices} services)`, () => registryHeartbeats(settings, log, postgresTarget));
  }
  if (runEtcd && wants("heartbeats")) results.etcd.heartbeats = await phase(`2. heartbeats, etcd (${settings.heartbeatServices} leases)`, () => etcdHeartbeats(etcd.path, settings, log));
  if (runRegistry && wants("discovery")) {
    results.registry.discovery = await phase(`3+4. load ${settings.loadCount}, filtered discovery, WebSocket fan-out, ours on SQLite`, () =>
      registryDiscoveryAndWatch(settings, log));
  }
  if (runPostgres && wants("discovery")) {
    results.postgres.discovery = await phase(`3+4. load ${settings.loadCount}, filtered discovery, WebSocket fan-out, ours on PostgreSQL`, () =>
      registryDiscoveryAndWatch(settings, log, postgresTarget));
  }
  if (runEtcd && wants("discovery")) {
    results.etcd.discovery = await phase(`3+4. load ${settings.loadCount}, prefix get, watch fan-out, etcd`, () =>
      etcdDiscoveryAndWatch(etcd.path, settings, log));
  }
  if ((runRegistry || runPostgres) && wants("discovery")) {
    // Issue 19: phase 4's floor, what N WebSocket writes cost on this machine with no registry behind them.
    results.fanoutFloor = await phase(`4. fan-out floor: a bare ws server broadcasting to ${settings.watchSubscribers} subscribers`, () => wsBroadcastFloor(settings, log));
  }
  if (wants("bulk") && (runRegistry || runPostgres || runEtcd)) {
    // Issue 19: the bulk endpoint's load rate beside etcd's, measured in the same run.
    results.bulk = {};
    if (runRegistry) results.bulk.sqlite = await phase(`6. bulk load ${settings.loadCount} (POST /api/services/bulk, ${settings.bulkBatch} a batch, ${settings.bulkInFlight} in flight), ours on SQLite`, () => registryBulkLoad(settings, log));
    if (runRegistry) results.bulk.apply = await phase(`6. kai services apply of a ${settings.loadCount}-service manifest, ours on SQLite`, () => registryApplyLoad(settings, log));
    // The same manifest as YAML, the format people write: the parse is the CLI's main thread alone (no check threads).
    if (runRegistry) results.bulk.applyYaml = await phase(`6. kai services apply of the same manifest as YAML, ours on SQLite`, () => registryApplyLoad(settings, log, undefined, "yaml"));
    if (runPostgres) results.bulk.postgres = await phase(`6. bulk load ${settings.loadCount}, ours on PostgreSQL`, () => registryBulkLoad(settings, log, postgresTarget));
    if (runEtcd) results.bulk.etcd = await phase(`6. bulk load ${settings.loadCount}, etcd (Txns of ${settings.etcdTxnOps} puts, ${settings.etcdTxnInFlight} in flight)`, () => etcdLoad(etcd.path, settings, log));
  }
  if (runCluster) results.cluster = await phase("5. two instances on one PostgreSQL: A→B change latency, leader failover after kill -9", () => clusterBench(pg, settings, log));
} finally {
  await pg?.stop();
}

results.finishedAt = new Date().toISOString();
results.seconds = (Date.now() - startedAt.getTime()) / 1000;
// Save first: a bug in the printing must never cost the figures of a 6-minute run.
const path = writeResults(ROOT, results);
console.log(renderReport(results));
console.log(`\nResults written to ${path} (print again with: node bench/print-report.mjs ${path})`);
process.exitCode = results.errors.length ? 1 : 0;
