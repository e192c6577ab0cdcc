/**
 * @module bench/run
 * `npm run bench`: the registry benchmark side by side with etcd, in one run on one machine.
 * Phases (each on a fresh server / fresh etcd): 1 registrations per durability mode, 2 heartbeats on
 * 10k services, 3 filtered discovery at 100k services, 4 one change fanned out to 1,000 watchers.
 * Prints figures only: a benchmark has no pass/fail on timings. A phase that errors is reported and
 * the run goes on; the exit code is 1 when any phase failed, so a broken bench does not go unnoticed.
 *
 * BENCH_QUICK=1 for a ~1 minute smoke run; BENCH_ONLY=registry|etcd to run one side.
 */
import { cpus, release, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { settings } from "./lib/settings.mjs";
import { DURABILITY, renderReport, writeResults } from "./lib/report.mjs";
import { ensureEtcd } from "./etcd/etcd-process.mjs";
import { etcdDiscoveryAndWatch, etcdHeartbeats, etcdRegistrations } from "./etcd/etcd-phases.mjs";
import { registryDiscoveryAndWatch, registryHeartbeats, registryRegistrations } from "./registry/registry-phases.mjs";
import { registryUnavailable } from "./registry/server-process.mjs";

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
const etcd = runEtcd ? ensureEtcd(log) : { skip: "BENCH_ONLY=registry" };
if (etcd.skip) {
  runEtcd = false;
  results.skipped.etcd = etcd.skip;
  log(`etcd columns skipped: ${etcd.skip}`);
} else {
  results.machine.etcd = etcd.version;
  log(`etcd: ${etcd.path} (${etcd.version})`);
}
const unavailable = runRegistry ? registryUnavailable() : "BENCH_ONLY=etcd";
if (unavailable) {
  runRegistry = false;
  results.skipped.registry = unavailable;
  log(`our registry skipped: ${unavailable}`);
}

const wants = (name) => settings.phases.includes(name);
if (runRegistry && wants("registrations")) {
  for (const mode of settings.durabilityModes) {
    results.registry.registrations[mode] = await phase(`1. registrations, ours (synchronous=${mode})`, () => registryRegistrations(settings, mode, log));
  }
}
if (runEtcd && wants("registrations")) results.etcd.registrations = await phase("1. registrations, etcd (lease grant + put)", () => etcdRegistrations(etcd.path, settings, log));
if (runRegistry && wants("heartbeats")) results.registry.heartbeats = await phase(`2. heartbeats, ours (${settings.heartbeatServices} services)`, () => registryHeartbeats(settings, log));
if (runEtcd && wants("heartbeats")) results.etcd.heartbeats = await phase(`2. heartbeats, etcd (${settings.heartbeatServices} leases)`, () => etcdHeartbeats(etcd.path, settings, log));
if (runRegistry && wants("discovery")) {
  results.registry.discovery = await phase(`3+4. load ${settings.loadCount}, filtered discovery, WebSocket fan-out, ours`, () =>
    registryDiscoveryAndWatch(settings, log));
}
if (runEtcd && wants("discovery")) {
  results.etcd.discovery = await phase(`3+4. load ${settings.loadCount}, prefix get, watch fan-out, etcd`, () =>
    etcdDiscoveryAndWatch(etcd.path, settings, log));
}

results.finishedAt = new Date().toISOString();
results.seconds = (Date.now() - startedAt.getTime()) / 1000;
// Save first: a bug in the printing must never cost the figures of a 6-minute run.
const path = writeResults(ROOT, results);
console.log(renderReport(results));
console.log(`\nResults written to ${path} (print again with: node bench/print-report.mjs ${path})`);
process.exitCode = results.errors.length ? 1 : 0;
