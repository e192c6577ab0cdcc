/**
 * @module bench/lib/closed-loop
 * The closed-loop runner of the etcd baseline: N async workers each await one operation and then
 * issue the next, until a deadline or an operation budget. A warm-up comes first and is not counted.
 * Throughput = completed operations / measured wall time; latency per operation from hrtime.
 */
import { cpuMeter } from "./proc-stats.mjs";
import { summarize } from "./stats.mjs";

/**
 * @param {object} options
 * @param {number} options.concurrency operations in flight
 * @param {number} options.warmupMs
 * @param {number} options.measureMs
 * @param {number} [options.maxOps] stop after this many measured operations (a safety bound)
 * @param {number} options.serverPid process whose CPU is reported for the measured window
 * @param {number} [options.dbPid] root of a database's process tree (PostgreSQL), reported as dbCpuPct
 * @param {(seq: number) => Promise<unknown>} options.op one operation; `seq` is a global counter
 */
export async function runClosedLoop({ concurrency, warmupMs, measureMs, maxOps = 10_000_000, serverPid, dbPid, op }) {
  const latencies = [];
  let seq = 0;
  let errors = 0;
  let firstError;
  const start = performance.now();
  const measureStart = start + warmupMs;
  const deadline = measureStart + measureMs;
  let meter;
  const meterTimer = setTimeout(() => (meter = cpuMeter(serverPid, dbPid)), warmupMs);

  async function worker() {
    while (latencies.length < maxOps) {
      const began = performance.now();
      if (began >= deadline) return;
      try {
        await op(seq++);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
        continue;
      }
      if (began >= measureStart) latencies.push(performance.now() - began);
    }
  }

  await Promise.all(Array.from({ length: concurrency }, worker));
  clearTimeout(meterTimer);
  const wallMs = performance.now() - measureStart;
  const cpu = meter ? meter.stop() : { serverCpuPct: NaN, dbCpuPct: NaN, clientCpuPct: NaN };
  return {
    concurrency,
    ops: latencies.length,
    perSecond: (latencies.length / wallMs) * 1000,
    ...summarize(latencies),
    errors,
    firstError,
    ...cpu,
  };
}

/** The level with the highest throughput. */
export function best(levels) {
  return levels.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
}
