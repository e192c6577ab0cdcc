/**
 * @module bench/lib/report
 * Turns one run's results into the side-by-side table (ours on SQLite, ours on PostgreSQL, etcd, ratios
 * oriented so that > 1 always means "we are better"), the goal summaries of issues 2 and 13, the
 * two-instance figures, and a JSON file under .bench-tmp/.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { round } from "./stats.mjs";
import { renderClusterReport } from "../cluster/cluster-report.mjs";

export const DURABILITY = {
  full: "SQLite WAL, synchronous=FULL: each acknowledged commit is fsync'd (survives power loss)",
  normal: "SQLite WAL, synchronous=NORMAL: WAL fsync'd at checkpoints only (survives kill -9, not power loss)",
  etcd: "etcd WAL fdatasync'd per raft batch before acknowledging (defaults; 3.4 has no way to turn it off)",
  postgres: "PostgreSQL fsync=on, synchronous_commit=on: each acknowledged commit's WAL is fdatasync'd (survives power loss)",
};

const GOALS = {
  registrations: 5000,
  heartbeats: 20_000,
  discoveryP99Ms: 20,
  fanoutP99Ms: 50,
  /** Issue 19: one change to 1,000 subscribers, p99 (measured multiplexed, as etcd's watchers share streams). */
  multiplexedFanoutP99Ms: 20,
};
/** Issue 13's goals for the PostgreSQL column (the two-instance goals are in cluster/cluster-report.mjs). */
const PG_GOALS = { registrationsVsEtcd: 2, discoveryP99Ms: 20 };

const fmtRate = (value) => (Number.isFinite(value) ? `${Math.round(value).toLocaleString("en-US")}/s` : "—");
const fmtMs = (value) => (Number.isFinite(value) ? `${round(value)} ms` : "—");
const fmtCpu = (level) => {
  if (!level || !Number.isFinite(level.serverCpuPct)) return "—";
  // PostgreSQL column: our server + the database's process tree / the load generator.
  const db = Number.isFinite(level.dbCpuPct) ? ` + ${Math.round(level.dbCpuPct)}` : "";
  return `${Math.round(level.serverCpuPct)}${db} / ${Math.round(level.clientCpuPct)} %`;
};
const ratio = (value) => (Number.isFinite(value) && value > 0 ? `${value.toFixed(2)}x` : "—");

function levelAt(phase, concurrency) {
  return phase?.levels?.find((level) => level.concurrency === concurrency);
}

function rateCell(level) {
  if (!level) return "—";
  const errors = level.errors ? `, ${level.errors} err` : "";
  return `${fmtRate(level.perSecond)} (p50 ${fmtMs(level.p50)}, p99 ${fmtMs(level.p99)}${errors})`;
}

/**
 * Table rows: [figure, SQLite, PostgreSQL, etcd, SQLite/etcd, PostgreSQL/etcd, CPU SQLite, CPU PostgreSQL, CPU etcd].
 * Ratio for throughput = ours/etcd; for latency = etcd/ours. Either way > 1 means ours is better. `results.registry`
 * is our SQLite column (its name since issue 2), `results.postgres` the PostgreSQL one (absent in older files).
 */
export function buildRows(results, settings) {
  const rows = [];
  const ours = results.registry ?? {};
  const pg = results.postgres ?? {};
  const etcd = results.etcd ?? {};
  const throughput = (figure, mine, postgres, theirs) =>
    rows.push([
      figure, rateCell(mine), rateCell(postgres), rateCell(theirs),
      ratio(mine?.perSecond / theirs?.perSecond), ratio(postgres?.perSecond / theirs?.perSecond),
      fmtCpu(mine), fmtCpu(postgres), fmtCpu(theirs),
    ]);
  const latency = (figure, mine, postgres, theirs, key) =>
    rows.push([
      figure, fmtMs(mine?.[key]), fmtMs(postgres?.[key]), fmtMs(theirs?.[key]),
      ratio(theirs?.[key] / mine?.[key]), ratio(theirs?.[key] / postgres?.[key]),
      fmtCpu(mine), fmtCpu(postgres), fmtCpu(theirs),
    ]);

  for (const mode of settings.durabilityModes) {
    const phase = ours.registrations?.[mode];
    // PostgreSQL (synchronous_commit on) is a durable column: it sits beside SQLite full, not normal.
    const postgres = mode === "full" ? pg.registrations : undefined;
    throughput(`1. Registrations, best level (SQLite ${mode}${postgres ? ", PostgreSQL durable" : ""} vs etcd fsync)`, phase?.best, postgres?.best, etcd.registrations?.best);
    for (const concurrency of settings.levels) {
      throughput(`   ${concurrency} in flight (SQLite ${mode})`, levelAt(phase, concurrency), levelAt(postgres, concurrency), levelAt(etcd.registrations, concurrency));
    }
  }
  // Heartbeats: etcd renews leases two ways; each row compares with the better of the two (the harder comparison).
  const heartbeatRow = (figure, mine, postgres, once, shared) => {
    const better = [once, shared].filter(Boolean).reduce((a, b) => (!a || b.perSecond > a.perSecond ? b : a), undefined);
    const theirs = once || shared ? `once ${fmtRate(once?.perSecond)} · stream ${fmtRate(shared?.perSecond)}` : "—";
    rows.push([
      figure, rateCell(mine), rateCell(postgres), theirs,
      ratio(mine?.perSecond / better?.perSecond), ratio(postgres?.perSecond / better?.perSecond),
      fmtCpu(mine), fmtCpu(postgres), fmtCpu(better),
    ]);
  };
  heartbeatRow("2. Heartbeats, best level (vs etcd keepaliveOnce · shared stream)", ours.heartbeats?.best, pg.heartbeats?.best, etcd.heartbeats?.once?.best, etcd.heartbeats?.shared?.best);
  for (const concurrency of settings.levels) {
    heartbeatRow(`   ${concurrency} in flight`, levelAt(ours.heartbeats, concurrency), levelAt(pg.heartbeats, concurrency), levelAt(etcd.heartbeats?.once, concurrency), levelAt(etcd.heartbeats?.shared, concurrency));
  }
  const at = (phase, concurrency) => (phase?.discovery?.discovery ?? []).find((level) => level.concurrency === concurrency);
  for (const concurrency of settings.discoveryLevels) {
    const mine = at(ours, concurrency);
    const postgres = at(pg, concurrency);
    const theirs = at(etcd, concurrency);
    latency(`3. Filtered query p50, ${concurrency} in flight (vs prefix get limit 100)`, mine, postgres, theirs, "p50");
    latency(`3. Filtered query p99, ${concurrency} in flight (vs prefix get limit 100)`, mine, postgres, theirs, "p99");
    throughput(`   queries/s, ${concurrency} in flight`, mine, postgres, theirs);
  }
  latency("   extra: unfiltered first page p99, 1 in flight", ours.discovery?.unfiltered, pg.discovery?.unfiltered, at(etcd, 1), "p99");
  latency("   extra: filtered p50, 1 in flight, PostgreSQL after an explicit ANALYZE", undefined, pg.discovery?.afterAnalyze, at(etcd, 1), "p50");
  latency("   extra: filtered p99, 1 in flight, PostgreSQL after an explicit ANALYZE", undefined, pg.discovery?.afterAnalyze, at(etcd, 1), "p99");
  const loadCell = (load) => (load ? `${fmtRate(load.perSecond)} (${load.count} in ${round(load.seconds)} s, RSS ${Math.round(load.rssMb)} MB)` : "—");
  const etcdLoad = etcd.discovery?.load;
  rows.push([
    `   load of ${settings.loadCount.toLocaleString("en-US")} (ours: API, ${settings.loadConcurrency} in flight; etcd: Txn x${settings.etcdTxnOps}, ${settings.etcdTxnInFlight} in flight)`,
    loadCell(ours.discovery?.load),
    loadCell(pg.discovery?.load),
    etcdLoad ? `${fmtRate(etcdLoad.perSecond)} (RSS ${Math.round(etcdLoad.rssMb)} MB)` : "—",
    ratio(ours.discovery?.load?.perSecond / etcdLoad?.perSecond),
    ratio(pg.discovery?.load?.perSecond / etcdLoad?.perSecond),
    "—", "—", "—",
  ]);
  for (const theirs of etcd.discovery?.watch ?? [{}]) {
    const label = theirs.layout ? `etcd ${theirs.layout}` : "etcd";
    for (const key of ["p50", "p99", "max"]) latency(`4. Fan-out to ${settings.watchSubscribers} subscribers ${key} (vs ${label})`, ours.discovery?.watch, pg.discovery?.watch, theirs, key);
  }
  // Issue 19: the multiplexed layout beside etcd's with the same shape (clients × watchers per client).
  const mux = ours.discovery?.watchMux ?? pg.discovery?.watchMux;
  if (mux?.connections) {
    const etcdLayout = `${mux.connections} client${mux.connections > 1 ? "s" : ""} x ${mux.perConnection} watchers`;
    const sameShape = (etcd.discovery?.watch ?? []).find((each) => each.layout === etcdLayout) ?? {};
    for (const key of ["p50", "p99", "max"]) {
      latency(`4. Fan-out ${key}, ${mux.subscribers} subscriptions on ${mux.connections} WebSockets (vs etcd ${mux.connections}x${mux.perConnection})`, ours.discovery?.watchMux, pg.discovery?.watchMux, sameShape, key);
    }
  }
  // The floor is not etcd: its figures go in etcd's column, labelled, so the ratio reads ours against it.
  if (results.fanoutFloor && !results.fanoutFloor.error) {
    for (const key of ["p50", "p99"]) latency(`4. Fan-out ${key} (vs the floor: a bare ws broadcast, same subscribers)`, ours.discovery?.watch, pg.discovery?.watch, results.fanoutFloor, key);
  }
  // Phases that did not run (BENCH_ONLY, BENCH_PHASES, a failure) would only add rows of dashes.
  return rows.filter((row) => row[1] !== "—" || row[2] !== "—" || row[3] !== "—");
}

export function formatTable(rows) {
  const header = ["Figure", "SQLite", "PostgreSQL", "etcd", "SQLite/etcd", "PostgreSQL/etcd", "CPU SQLite srv/client", "CPU PG srv + db/client", "CPU etcd srv/client"];
  // A column nobody measured (an old file without PostgreSQL, BENCH_ONLY) is left out rather than filled with dashes.
  const keep = header.map((_, column) => column === 0 || rows.some((row) => row[column] !== "—"));
  const pick = (row) => row.filter((_, column) => keep[column]);
  const all = [pick(header), ...rows.map(pick)];
  const widths = all[0].map((_, column) => Math.max(...all.map((row) => String(row[column]).length)));
  const line = (row) => `| ${row.map((cell, column) => String(cell).padEnd(widths[column])).join(" | ")} |`;
  return [line(all[0]), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...all.slice(1).map(line)].join("\n");
}

const bestOf = (...values) => {
  const finite = values.filter(Number.isFinite);
  return finite.length ? Math.max(...finite) : NaN;
};
const lowestOf = (...values) => {
  const finite = values.filter(Number.isFinite);
  return finite.length ? Math.min(...finite) : NaN;
};

/** etcd's four figures, each its better variant (the harder comparison). */
function etcdFigures(etcd) {
  return {
    registrations: etcd.registrations?.best?.perSecond,
    heartbeats: bestOf(etcd.heartbeats?.once?.best?.perSecond, etcd.heartbeats?.shared?.best?.perSecond),
    discovery: etcd.discovery?.discovery?.find((level) => level.concurrency === 1)?.p99,
    fanout: lowestOf(...(etcd.discovery?.watch ?? []).map((each) => each.p99)),
  };
}

/** The four headline figures of our SQLite column against issue 2's goals and against etcd. */
export function headline(results) {
  const ours = results.registry ?? {};
  const theirs = etcdFigures(results.etcd ?? {});
  const registrations = ours.registrations?.full?.best?.perSecond;
  const heartbeats = ours.heartbeats?.best?.perSecond;
  const discovery = ours.discovery?.discovery?.find((level) => level.concurrency === 1)?.p99;
  const fanout = ours.discovery?.watch?.p99;
  const mux = ours.discovery?.watchMux;
  const etcdSameShape = (results.etcd?.discovery?.watch ?? []).find((each) => mux?.connections && each.layout === `${mux.connections} client${mux.connections > 1 ? "s" : ""} x ${mux.perConnection} watchers`);
  return [
    { figure: "Registrations/s (durability full)", ours: registrations, goal: `>= ${GOALS.registrations}`, meetsGoal: registrations >= GOALS.registrations, etcd: theirs.registrations, ratio: registrations / theirs.registrations, unit: "/s" },
    { figure: "Heartbeats/s", ours: heartbeats, goal: `>= ${GOALS.heartbeats}`, meetsGoal: heartbeats >= GOALS.heartbeats, etcd: theirs.heartbeats, ratio: heartbeats / theirs.heartbeats, unit: "/s" },
    { figure: "Filtered query p99 at 100k (1 in flight)", ours: discovery, goal: `< ${GOALS.discoveryP99Ms} ms`, meetsGoal: discovery < GOALS.discoveryP99Ms, etcd: theirs.discovery, ratio: theirs.discovery / discovery, unit: "ms" },
    { figure: `One change to ${ours.discovery?.watch?.subscribers ?? "1,000"} WS subscribers p99`, ours: fanout, goal: `< ${GOALS.fanoutP99Ms} ms`, meetsGoal: fanout < GOALS.fanoutP99Ms, etcd: theirs.fanout, ratio: theirs.fanout / fanout, unit: "ms" },
    {
      figure: `… ${mux?.subscribers ?? "1,000"} on ${mux?.connections ?? 10} WebSockets p99`,
      ours: mux?.p99,
      goal: `< ${GOALS.multiplexedFanoutP99Ms} ms`,
      meetsGoal: mux?.p99 < GOALS.multiplexedFanoutP99Ms,
      etcd: etcdSameShape?.p99,
      ratio: etcdSameShape?.p99 / mux?.p99,
      unit: "ms",
    },
  ];
}

/** The PostgreSQL column's four figures against issue 13's goals (registrations ≥ 2× etcd, query p99 < 20 ms) and etcd. */
export function postgresHeadline(results) {
  const pg = results.postgres ?? {};
  const theirs = etcdFigures(results.etcd ?? {});
  const registrations = pg.registrations?.best?.perSecond;
  const heartbeats = pg.heartbeats?.best?.perSecond;
  const discovery = pg.discovery?.discovery?.find((level) => level.concurrency === 1)?.p99;
  const fanout = pg.discovery?.watch?.p99;
  const vsEtcd = registrations / theirs.registrations;
  return [
    { figure: "Registrations/s (synchronous_commit on)", ours: registrations, goal: `>= ${PG_GOALS.registrationsVsEtcd}x etcd`, meetsGoal: vsEtcd >= PG_GOALS.registrationsVsEtcd, etcd: theirs.registrations, ratio: vsEtcd, unit: "/s" },
    { figure: "Heartbeats/s", ours: heartbeats, goal: "report", meetsGoal: undefined, etcd: theirs.heartbeats, ratio: heartbeats / theirs.heartbeats, unit: "/s" },
    { figure: "Filtered query p99 at 100k (1 in flight)", ours: discovery, goal: `< ${PG_GOALS.discoveryP99Ms} ms`, meetsGoal: discovery < PG_GOALS.discoveryP99Ms, etcd: theirs.discovery, ratio: theirs.discovery / discovery, unit: "ms" },
    { figure: `One change to ${pg.discovery?.watch?.subscribers ?? "1,000"} WS subscribers p99`, ours: fanout, goal: "report", meetsGoal: undefined, etcd: theirs.fanout, ratio: theirs.fanout / fanout, unit: "ms" },
  ];
}

export function formatHeadline(lines) {
  const value = (number, unit) => (unit === "/s" ? fmtRate(number) : fmtMs(number));
  return lines
    .map((line) => {
      const verdict = !Number.isFinite(line.ours) ? "not measured" : line.meetsGoal === undefined ? "(no goal)" : line.meetsGoal ? "goal met" : "goal MISSED";
      const versus = Number.isFinite(line.ratio) ? `, ${ratio(line.ratio)} etcd's ${value(line.etcd, line.unit)} (${line.ratio > 1 ? "ahead" : "BEHIND"})` : "";
      return `  ${line.figure.padEnd(44)} ${value(line.ours, line.unit).padStart(12)}  goal ${line.goal.padEnd(12)} ${verdict}${versus}`;
    })
    .join("\n");
}

/** Where PostgreSQL's write time goes, per registration level: commits/s, writes per commit, WAL fsyncs and volume. */
function postgresWritePath(results) {
  const levels = results.postgres?.registrations?.levels ?? [];
  const out = [];
  for (const level of levels) {
    if (!level.pg) continue;
    const perSync = level.perSecond / level.pg.walSyncsPerSecond;
    const cpuUs = (pct) => Math.round((pct * 10_000) / level.perSecond);
    out.push(
      `  ${String(level.concurrency).padStart(3)} in flight: ${fmtRate(level.perSecond)} = ${Math.round(level.pg.walSyncsPerSecond)} WAL fsyncs/s × ${perSync.toFixed(1)} registrations per fsync; ` +
        `${Math.round(level.pg.commitsPerSecond)} transactions/s (reads included), ${level.pg.walMbPerSecond.toFixed(1)} MB/s WAL; ` +
        `CPU per registration: kai ${cpuUs(level.serverCpuPct)} µs (${Math.round(level.serverCpuPct)} % of a core), PostgreSQL ${cpuUs(level.dbCpuPct)} µs, load generator ${cpuUs(level.clientCpuPct)} µs`,
    );
  }
  return out;
}

/** Writes the results as JSON to `<root>/.bench-tmp/registry-<timestamp>.json` and returns the path. */
export function writeResults(root, results) {
  const dir = join(root, ".bench-tmp");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const path = join(dir, `registry-${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(results, (_, value) => (typeof value === "number" ? round(value) : value), 2)}\n`);
  return path;
}

/** The whole printed report of one run (also used to re-print a saved JSON file). */
export function renderReport(results) {
  const { settings } = results;
  const out = [];
  out.push("");
  out.push(`## kAI registry vs etcd — ${results.startedAt}${settings.quick ? " (BENCH_QUICK smoke run)" : ""}, ${Math.round(results.seconds)} s`);
  out.push(`machine: ${results.machine.cpus} x ${results.machine.cpuModel}, ${results.machine.memoryGb} GB, Linux ${results.machine.kernel}, Node ${results.machine.node}${results.machine.etcd ? `, ${results.machine.etcd}` : ""}${results.machine.postgres ? `, ${results.machine.postgres}` : ""}`);
  const fsync = results.machine.fsync;
  if (fsync) out.push(`disk (temp dir, where all three keep their data): 8 KB write + fdatasync p50 ${fmtMs(fsync.p50)}, p99 ${fmtMs(fsync.p99)} — at most ~${Math.round(1000 / fsync.p50)} durable commits/s one after the other`);
  out.push("");
  out.push("Durability:");
  for (const mode of settings.durabilityModes) out.push(`  SQLite ${mode.padEnd(6)}: ${DURABILITY[mode]}`);
  if (results.postgres) out.push(`  PostgreSQL   : ${DURABILITY.postgres}`);
  out.push(`  etcd         : ${DURABILITY.etcd}`);
  if (results.postgresSettings) out.push(`PostgreSQL settings: ${Object.entries(results.postgresSettings).map(([key, value]) => `${key}=${value}`).join(", ")} (initdb defaults; only port, listen address, socket dir and max_connections set). Our server: default pool (10).`);
  out.push("Phases 2-4 on SQLite run with synchronous=full. Throughput ratio = ours/etcd, latency ratio = etcd/ours: > 1 means ours is better.");
  out.push(`CPU = % of one core over the measured window (machine max ${results.machine.cpus * 100} %): server process / load generator; for PostgreSQL: our server + PostgreSQL's processes / load generator.`);
  const fanout = results.registry?.discovery?.watch;
  if (fanout?.layout) out.push(`Our fan-out subscribers: ${fanout.layout}; connected in ${round(fanout.connectSeconds)} s; lag snapshots ${fanout.lagSnapshots}, stream errors ${fanout.streamErrors}, incomplete reps ${fanout.incomplete}.`);
  const pgFanout = results.postgres?.discovery?.watch;
  if (pgFanout?.layout) out.push(`PostgreSQL fan-out: connected in ${round(pgFanout.connectSeconds)} s; lag snapshots ${pgFanout.lagSnapshots}, stream errors ${pgFanout.streamErrors}, incomplete reps ${pgFanout.incomplete}.`);
  for (const [name, side] of [["SQLite", results.registry], ["PostgreSQL", results.postgres]]) {
    const load = side?.discovery?.load;
    if (load) out.push(`${name} 100k load: ${load.count} services (complete: ${load.complete}${load.errors ? `; ${load.errors} registrations FAILED, first: ${load.firstError}` : ""}); the discovery filter matches ${load.filterMatches} of them (expected ${load.filterExpected}).`);
    if (load?.plannerStats) {
      out.push(`  planner statistics when the queries began: ${load.plannerStats.map((row) => `${row.relname} ${row.analyzed ? `analyzed, ${row.n_mod_since_analyze} changes since` : "NEVER analyzed"}${row.vacuumed ? ", vacuumed" : ""}`).join("; ")}`);
    }
  }
  out.push("");
  out.push(formatTable(buildRows(results, settings)));
  out.push("");
  const measured = (side) => Boolean(side && (Object.keys(side.registrations ?? {}).length || side.heartbeats || side.discovery));
  if (measured(results.registry)) {
    out.push("Headline figures, SQLite, vs the goals of issue 2:");
    out.push(formatHeadline(headline(results)));
  }
  if (measured(results.postgres)) {
    out.push("Headline figures, PostgreSQL, vs the goals of issue 13:");
    out.push(formatHeadline(postgresHeadline(results)));
    const path = postgresWritePath(results);
    if (path.length) {
      out.push("PostgreSQL write path (registrations; group commit: one transaction, one revision-counter bump, one WAL flush per batch):");
      const sqlite = results.registry?.registrations?.full?.levels ?? [];
      const us = (level) => (level ? `${Math.round((level.serverCpuPct * 10_000) / level.perSecond)} µs` : "—");
      if (sqlite.length) out.push(`  (for comparison, our server's CPU per registration on SQLite full: ${settings.levels.map((concurrency) => `${concurrency} in flight ${us(levelAt(results.registry.registrations.full, concurrency))}`).join(", ")})`);
      out.push(...path);
    }
  }
  if (results.bulk) out.push(...renderBulk(results.bulk, settings));
  if (results.cluster) out.push(renderClusterReport(results.cluster));
  for (const [side, reason] of Object.entries(results.skipped ?? {})) out.push(`  skipped ${side}: ${reason}`);
  for (const error of results.errors ?? []) out.push(`  phase failed: ${error.phase}: ${error.message}`);
  return out.join("\n");
}

/** Phase 6 (issue 19): services/s through POST /api/services/bulk and the ratio to etcd's load rate (goal ≥ 20,000/s). */
function renderBulk(bulk, settings) {
  const out = [`Bulk load of ${settings.loadCount} services (issue 19; goal ≥ 20,000/s through the bulk endpoint):`];
  const etcd = bulk.etcd?.perSecond;
  if (etcd) out.push(`  etcd (Txns of ${settings.etcdTxnOps} puts, ${settings.etcdTxnInFlight} in flight): ${Math.round(etcd)}/s`);
  for (const [name, side] of [["SQLite", bulk.sqlite], ["PostgreSQL", bulk.postgres]]) {
    if (!side) continue;
    const vs = etcd ? `, ${(side.perSecond / etcd).toFixed(2)}× etcd` : "";
    out.push(`  ours on ${name} (batches of ${side.batch}, ${side.inFlight} in flight): ${Math.round(side.perSecond)}/s${vs}; ${side.count} loaded (complete: ${side.complete}), p50 ${Math.round(side.batchP50Ms)} ms a batch, server CPU ${Math.round(side.serverCpuUsPerService)} µs a service, RSS ${Math.round(side.rssMb)} MB`);
  }
  for (const apply of [bulk.apply, bulk.applyYaml]) {
    if (!apply) continue;
    out.push(`  kai services apply of the same services as one ${apply.format === "yaml" ? "YAML" : "JSON"} manifest, on SQLite: ${Math.round(apply.perSecond)}/s end to end (${apply.seconds.toFixed(1)} s; the file read and checked in ${apply.prepSeconds.toFixed(1)} s${apply.checkThreads ? ` on ${apply.checkThreads} thread(s)` : ""}, then ${Math.round(apply.count / Math.max(0.001, apply.seconds - apply.prepSeconds))}/s), server CPU ${Math.round(apply.serverCpuUsPerService)} µs a service${apply.reapplySeconds !== undefined ? `; applied again, all unchanged: ${apply.reapplySeconds.toFixed(1)} s` : ""}`);
  }
  return out;
}
