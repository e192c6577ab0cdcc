/**
 * @module components/charts/format
 * How the overview and a service's page write figures: latencies in ms or s, rates in per cent, counts with
 * thousands separators, and "no data" spelled out rather than shown as 0 (a service without calls has no latency).
 * Times are not figures: components/format-date writes them, for every page.
 */

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "no data";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(0)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

export function formatRate(rate: number, requests: number): string {
  if (requests === 0) return "no calls";
  const percent = rate * 100;
  return `${percent === 0 || percent >= 10 ? percent.toFixed(0) : percent.toFixed(1)} %`;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en");
}
