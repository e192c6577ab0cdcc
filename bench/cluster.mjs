/**
 * @module bench/cluster
 * The two-instance benchmark on its own: `node bench/cluster.mjs` (BENCH_QUICK=1 for a short run).
 * `npm run bench` runs the same phases at the end of bench/run.mjs (or only them: BENCH_ONLY=cluster);
 * this entry exists to repeat the cluster figures without the 100k load of the registry phases.
 * Prints the figures against issue 13's goals and writes them to .bench-tmp/cluster-<timestamp>.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { clusterBench } from "./cluster/cluster-phases.mjs";
import { renderClusterReport } from "./cluster/cluster-report.mjs";
import { fsyncProbe } from "./lib/fsync-probe.mjs";
import { findPostgres, startPostgres } from "./lib/postgres-process.mjs";
import { settings } from "./lib/settings.mjs";
import { round } from "./lib/stats.mjs";
import { registryUnavailable } from "./registry/server-process.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const log = (message) => process.stderr.write(`${message}\n`);

const unavailable = registryUnavailable();
const found = findPostgres();
if (unavailable || found.skip) {
  console.error(`cluster bench cannot run: ${unavailable ?? found.skip}`);
  process.exit(1);
}
const startedAt = new Date();
log(`kAI two-instance benchmark${settings.quick ? " (BENCH_QUICK)" : ""}: ${found.version}`);
const disk = fsyncProbe();
log(`disk: 8 KB write + fdatasync p50 ${disk.p50.toFixed(2)} ms, p99 ${disk.p99.toFixed(2)} ms`);
const pg = await startPostgres(found);
let cluster;
try {
  cluster = await clusterBench(pg, settings, log);
} finally {
  await pg.stop();
}
const results = { startedAt: startedAt.toISOString(), settings, postgresVersion: found.version, postgresSettings: pg.settings, disk, cluster };
const dir = join(ROOT, ".bench-tmp");
mkdirSync(dir, { recursive: true });
const path = join(dir, `cluster-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(path, `${JSON.stringify(results, (_, value) => (typeof value === "number" ? round(value) : value), 2)}\n`);
console.log(renderClusterReport(cluster));
console.log(`\nResults written to ${path}`);
