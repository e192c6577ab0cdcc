/**
 * @module bench/lib/report
 * Turns one run's results into the side-by-side table (ours, etcd, ratio oriented so that > 1 always
 * means "we are better"), the goal summary of the issue, and a JSON file under .bench-tmp/.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { round } from "./stats.mjs";

export const DURABILITY = {
  full: "SQLite WAL, synchronous=FULL: each acknowledged commit is fsync'd (survives power loss)",
  normal: "SQLite WAL, synchronous=NORMAL: WAL fsync'd at checkpoints only (survives kill -9, not power loss)",
  etcd: "etcd WAL fdatasync'd per raft batch before acknowledging (defaults; 3.4 has no way to turn it off)",
};

const GOALS = {
  registrations: 5000,
  heartbeats: 20_000,
  discoveryP99Ms: 20,
  fanoutP99Ms: 50,
};

const fmtRate = (value) => (Number.isFinite(value) ? `${Math.round(value).toLocaleString("en-US")}/s` : "—");
const fmtMs = (value) => (Number.isFinite(value) ? `${round(value)} ms` : "—");
const fmtCpu = (level) =>
  level && Number.isFinite(level.serverCpuPct) ? `${Math.round(level.serverCpuPct)} / ${Math.round(level.clientCpuPct)} %` : "—";
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
 * Table rows: [figure, ours, etcd, ratio, ours CPU server/client, etcd CPU server/client].
 * Ratio for throughput = ours/etcd; for latency = etcd/ours. Either way > 1 means ours is better.
 */
export function buildRows(results, settings) {
  const rows = [];
  const ours = results.registry ?? {};
  const etcd = results.etcd ?? {};
  const throughput = (figure, mine, theirs) =>
    rows.push([figure, rateCell(mine), rateCell(theirs), ratio(mine?.perSecond / theirs?.perSecond), fmtCpu(mine), fmtCpu(theirs)]);
  const latency = (figure, mine, theirs, key) =>
    rows.push([figure, fmtMs(mine?.[key]), fmtMs(theirs?.[key]), ratio(theirs?.[key] / mine?.[key]), fmtCpu(mine), fmtCpu(theirs)]);

  for (const mode of settings.durabilityModes) {
    const phase = ours.registrations?.[mode];
    throughput(`1. Registrations, best level (ours ${mode} vs etcd fsync)`, phase?.best, etcd.registrations?.best);
    for (const concurrency of settings.levels) {
      throughput(`   ${concurrency} in flight (ours ${mode})`, levelAt(phase, concurrency), levelAt(etcd.registrations, concurrency));
    }
  }
  // Heartbeats: etcd renews leases two ways; each row compares with the better of the two (the harder comparison).
  const heartbeats = ours.heartbeats;
  const heartbeatRow = (figure, mine, once, shared) => {
    const better = [once, shared].filter(Boolean).reduce((a, b) => (!a || b.perSecond > a.perSecond ? b : a), undefined);
    const theirs = once || shared ? `once ${fmtRate(once?.perSecond)} · stream ${fmtRate(shared?.perSecond)}` : "—";
    rows.push([figure, rateCell(mine), theirs, ratio(mine?.perSecond / better?.perSecond), fmtCpu(mine), fmtCpu(better)]);
  };
  heartbeatRow("2. Heartbeats, best level (vs etcd keepaliveOnce · shared stream)", heartbeats?.best, etcd.heartbeats?.once?.best, etcd.heartbeats?.shared?.best);
  for (const concurrency of settings.levels) {
    heartbeatRow(`   ${concurrency} in flight`, levelAt(heartbeats, concurrency), levelAt(etcd.heartbeats?.once, concurrency), levelAt(etcd.heartbeats?.shared, concurrency));
  }
  const oursDiscovery = ours.discovery?.discovery ?? [];
  const etcdDiscovery = etcd.discovery?.discovery ?? [];
  for (const concurrency of settings.discoveryLevels) {
    const mine = oursDiscovery.find((level) => level.concurrency === concurrency);
    const theirs = etcdDiscovery.find((level) => level.concurrency === concurrency);
    latency(`3. Filtered query p50, ${concurrency} in flight (vs prefix get limit 100)`, mine, theirs, "p50");
    latency(`3. Filtered query p99, ${concurrency} in flight (vs prefix get limit 100)`, mine, theirs, "p99");
    throughput(`   queries/s, ${concurrency} in flight`, mine, theirs);
  }
  latency("   extra: unfiltered first page p99, 1 in flight", ours.discovery?.unfiltered, etcdDiscovery[0], "p99");
  const oursLoad = ours.discovery?.load;
  const etcdLoad = etcd.discovery?.load;
  rows.push([
    `   load of ${settings.loadCount.toLocaleString("en-US")} (ours: API, ${settings.loadConcurrency} in flight; etcd: Txn x${settings.etcdTxnOps}, ${settings.etcdTxnInFlight} in flight)`,
    oursLoad ? `${fmtRate(oursLoad.perSecond)} (${oursLoad.count} in ${round(oursLoad.seconds)} s, RSS ${Math.round(oursLoad.rssMb)} MB)` : "—",
    etcdLoad ? `${fmtRate(etcdLoad.perSecond)} (RSS ${Math.round(etcdLoad.rssMb)} MB)` : "—",
    ratio(oursLoad?.perSecond / etcdLoad?.perSecond),
    "—",
    "—",
  ]);
  const fanout = ours.discovery?.watch;
  for (const theirs of etcd.discovery?.watch ?? [{}]) {
    const label = theirs.layout ? `etcd ${theirs.layout}` : "etcd";
    for (const key of ["p50", "p99", "max"]) latency(`4. Fan-out to ${settings.watchSubscribers} subscribers ${key} (vs ${label})`, fanout, theirs, key);
  }
  // Phases that did not run (BENCH_ONLY, BENCH_PHASES, a failure) would only add rows of dashes.
  return rows.filter((row) => row[1] !== "—" || row[2] !== "—");
}

export function formatTable(rows) {
  const header = ["Figure", "Ours", "etcd", "Ratio (>1 = ours better)", "CPU ours srv/client", "CPU etcd srv/client"];
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => String(row[column]).length)));
  const line = (row) => `| ${row.map((cell, column) => String(cell).padEnd(widths[column])).join(" | ")} |`;
  return [line(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

/** The four headline figures against the issue's goals and against etcd. */
export function headline(results) {
  const ours = results.registry ?? {};
  const etcd = results.etcd ?? {};
  const bestOf = (...values) => {
    const finite = values.filter(Number.isFinite);
    return finite.length ? Math.max(...finite) : NaN;
  };
  const lowestOf = (...values) => {
    const finite = values.filter(Number.isFinite);
    return finite.length ? Math.min(...finite) : NaN;
  };
  const registrations = ours.registrations?.full?.best?.perSecond;
  const heartbeats = ours.heartbeats?.best?.perSecond;
  const discovery = ours.discovery?.discovery?.find((level) => level.concurrency === 1)?.p99;
  const fanout = ours.discovery?.watch?.p99;
  const etcdRegistrations = etcd.registrations?.best?.perSecond;
  // Compare against etcd's better figure each time: the harder comparison.
  const etcdHeartbeats = bestOf(etcd.heartbeats?.once?.best?.perSecond, etcd.heartbeats?.shared?.best?.perSecond);
  const etcdDiscovery = etcd.discovery?.discovery?.find((level) => level.concurrency === 1)?.p99;
  const etcdFanout = lowestOf(...(etcd.discovery?.watch ?? []).map((each) => each.p99));
  return [
    { figure: "Registrations/s (durability full)", ours: registrations, goal: `>= ${GOALS.registrations}`, meetsGoal: registrations >= GOALS.registrations, etcd: etcdRegistrations, ratio: registrations / etcdRegistrations, unit: "/s" },
    { figure: "Heartbeats/s", ours: heartbeats, goal: `>= ${GOALS.heartbeats}`, meetsGoal: heartbeats >= GOALS.heartbeats, etcd: etcdHeartbeats, ratio: heartbeats / etcdHeartbeats, unit: "/s" },
    { figure: "Filtered query p99 at 100k (1 in flight)", ours: discovery, goal: `< ${GOALS.discoveryP99Ms} ms`, meetsGoal: discovery < GOALS.discoveryP99Ms, etcd: etcdDiscovery, ratio: etcdDiscovery / discovery, unit: "ms" },
    { figure: `One change to ${ours.discovery?.watch?.subscribers ?? "1,000"} WS subscribers p99`, ours: fanout, goal: `< ${GOALS.fanoutP99Ms} ms`, meetsGoal: fanout < GOALS.fanoutP99Ms, etcd: etcdFanout, ratio: etcdFanout / fanout, unit: "ms" },
  ];
}

export function formatHeadline(lines) {
  const value = (number, unit) => (unit === "/s" ? fmtRate(number) : fmtMs(number));
  return lines
    .map((line) => {
      const verdict = Number.isFinite(line.ours) ? (line.meetsGoal ? "goal met" : "goal MISSED") : "not measured";
      const versus = Number.isFinite(line.ratio) ? `, ${ratio(line.ratio)} etcd's ${value(line.etcd, line.unit)} (${line.ratio > 1 ? "ahead" : "BEHIND"})` : "";
      return `  ${line.figure.padEnd(44)} ${value(line.ours, line.unit).padStart(12)}  goal ${line.goal.padEnd(9)} ${verdict}${versus}`;
    })
    .join("\n");
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
  out.push(`machine: ${results.machine.cpus} x ${results.machine.cpuModel}, ${results.machine.memoryGb} GB, Linux ${results.machine.kernel}, Node ${results.machine.node}${results.machine.etcd ? `, ${results.machine.etcd}` : ""}`);
  out.push("");
  out.push("Durability:");
  for (const mode of settings.durabilityModes) out.push(`  ours ${mode.padEnd(6)}: ${DURABILITY[mode]}`);
  out.push(`  etcd       : ${DURABILITY.etcd}`);
  out.push("Phases 2-4 of ours run with synchronous=full. Throughput ratio = ours/etcd, latency ratio = etcd/ours: > 1 means ours is better.");
  out.push(`CPU = % of one core over the measured window (machine max ${results.machine.cpus * 100} %): server process / load generator.`);
  const fanout = results.registry?.discovery?.watch;
  if (fanout?.layout) out.push(`Our fan-out subscribers: ${fanout.layout}; connected in ${round(fanout.connectSeconds)} s; lag snapshots ${fanout.lagSnapshots}, stream errors ${fanout.streamErrors}, incomplete reps ${fanout.incomplete}.`);
  const load = results.registry?.discovery?.load;
  if (load) out.push(`Our 100k load: ${load.count} services (complete: ${load.complete}); the discovery filter matches ${load.filterMatches} of them (expected ${load.filterExpected}).`);
  out.push("");
  out.push(formatTable(buildRows(results, settings)));
  out.push("");
  out.push("Headline figures vs the goals of issue 2:");
  out.push(formatHeadline(headline(results)));
  for (const [side, reason] of Object.entries(results.skipped ?? {})) out.push(`  skipped ${side}: ${reason}`);
  for (const error of results.errors ?? []) out.push(`  phase failed: ${error.phase}: ${error.message}`);
  return out.join("\n");
}
