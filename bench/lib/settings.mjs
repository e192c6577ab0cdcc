/**
 * @module bench/lib/settings
 * The knobs of one benchmark run, from the environment: BENCH_QUICK=1 shrinks every phase for a
 * smoke run of about a minute; BENCH_ONLY picks the columns (a comma list of sqlite, postgres, etcd,
 * cluster; `registry` means sqlite and postgres). Every loop in the bench is bounded by these numbers in
 * both time and count, so a stuck server cannot make the run hang.
 */

const quick = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const SIDES = ["sqlite", "postgres", "etcd", "cluster"];
const onlyList = (process.env.BENCH_ONLY ?? "").split(",").map((name) => name.trim()).filter(Boolean)
  .flatMap((name) => (name === "registry" ? ["sqlite", "postgres"] : [name]));
for (const name of onlyList) {
  if (!SIDES.includes(name)) throw new Error(`BENCH_ONLY: unknown side "${name}" (known: registry, ${SIDES.join(", ")})`);
}
const runs = (side) => onlyList.length === 0 || onlyList.includes(side);

const PHASES = ["registrations", "heartbeats", "discovery", "bulk"];
/** BENCH_PHASES=registrations,heartbeats,discovery (a comma list) runs only some phase groups; default all. */
const phases = (process.env.BENCH_PHASES ?? PHASES.join(",")).split(",").map((name) => name.trim()).filter(Boolean);
for (const name of phases) {
  if (!PHASES.includes(name)) throw new Error(`BENCH_PHASES: unknown phase "${name}" (known: ${PHASES.join(", ")})`);
}

/** @type {const} */
export const settings = {
  quick,
  /** Our registry on SQLite (the `Ours` column of issue 2's table). */
  runRegistry: runs("sqlite"),
  /** Our registry on PostgreSQL (issue 13's column), the same phases and work. */
  runPostgres: runs("postgres"),
  runEtcd: runs("etcd"),
  /** The two-instance benchmark (bench/cluster.mjs): A→B change latency and leader failover. */
  runCluster: runs("cluster"),
  /** Phase groups to run: registrations (1), heartbeats (2), discovery (3 and 4, which share the 100k load). */
  phases,
  /** Closed-loop concurrency levels, as in the etcd baseline (BENCH_LEVELS=256 or a comma list runs only those). */
  levels: process.env.BENCH_LEVELS ? process.env.BENCH_LEVELS.split(",").map(Number) : [1, 16, 64, 256],
  warmupMs: quick ? 300 : 1000,
  measureMs: quick ? 1500 : 5000,
  /** Services (ours) and leases (etcd) kept alive in the heartbeat phase. */
  heartbeatServices: quick ? 2000 : 10_000,
  /** Services (ours) and keys (etcd) present during discovery and fan-out. */
  loadCount: quick ? 10_000 : 100_000,
  /** Requests in flight while loading our registry through its API. */
  loadConcurrency: 128,
  /** Upper bound on the load phase; what was loaded by then is what is measured (and reported). */
  loadMaxMs: quick ? 60_000 : 600_000,
  /**
   * Bulk load (issue 19, phase 6): `loadCount` services through POST /api/services/bulk, batches of this many, this many
   * in flight (BENCH_BULK_IN_FLIGHT; 2, as `kai services apply` sends them).
   */
  bulkBatch: 1000,
  bulkInFlight: Number(process.env.BENCH_BULK_IN_FLIGHT ?? 2),
  /** etcd load: Txns of this many puts (etcd's default max-txn-ops), this many in flight. */
  etcdTxnOps: 128,
  etcdTxnInFlight: 8,
  discoveryLevels: [1, 16],
  discoveryMs: quick ? 1500 : 5000,
  watchSubscribers: quick ? 200 : 1000,
  /**
   * Fan-out repetitions on each side. 500, not 100: with 100 samples the p99 is the largest one, so one registration
   * whose commit waits on the disk (an fsync behind a checkpoint's write-back, say) decides it; with 500 it is the
   * 5th largest, a percentile on both sides (the largest is printed as `max`).
   */
  watchReps: quick ? 10 : Number(process.env.BENCH_WATCH_REPS ?? 500),
  watchWarmupReps: 2,
  watchGapMs: quick ? 50 : 100,
  /** How long one fan-out may take before the repetition counts as incomplete. */
  watchTimeoutMs: 5000,
  /** Worker threads that hold our WebSocket subscribers (the server runs in its own process). */
  watchWorkers: 4,
  /** Ours multiplexed (issue 19): [connections, named subscriptions per connection], the layout of etcd's first. */
  watchMuxLayout: quick ? [2, 100] : [10, 100],
  /** etcd watch layouts: [clients, watchers per client]. */
  etcdWatchLayouts: quick ? [[10, 20]] : [[10, 100], [1, 1000]],
  /** Storage durability modes our registration phase runs in. */
  durabilityModes: ["full", "normal"],
  /** Two instances: changes made on A, timed until B's (and A's) watch stream delivers them, at a steady pace. */
  clusterChanges: quick ? 100 : 400,
  clusterWarmupChanges: 20,
  clusterChangesPerSecond: 50,
  /** kill -9 of the leader, repeated (the killed instance is restarted between repetitions). */
  failoverReps: quick ? 1 : 3,
  /** Longest wait for a new leader before a repetition counts as failed. */
  failoverTimeoutMs: 30_000,
};
