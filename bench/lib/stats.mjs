/**
 * @module bench/lib/stats
 * Percentiles and summaries of latency samples. p-quantile = sorted[floor(p·n)], the method of the
 * etcd baseline, so that both columns are computed the same way.
 */

/** @param {number[]} sorted ascending @param {number} p in [0,1] */
export function quantile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** @param {number[]} samples latencies in ms */
export function summarize(samples) {
  const sorted = Float64Array.from(samples).sort();
  return {
    n: sorted.length,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/** Round for printing and JSON: 3 significant decimals for small numbers, integers for big ones. */
export function round(value) {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  if (Math.abs(value) >= 10) return Math.round(value * 10) / 10;
  return Math.round(value * 1000) / 1000;
}
