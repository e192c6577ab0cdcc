/**
 * @module gateway/router/strategies
 * Orders the candidates of one request: the first is tried first, the rest are the failover order.
 * Every strategy reads only what the record declares (`metadata.priority`, `weight`, `cost`) and what
 * the router measured (in-flight count, EWMA latency), so ordering costs no I/O.
 *
 * - `priority`: `metadata.priority`, lower first (default 100); ties go to the less busy service.
 * - `weighted`: smooth weighted round-robin on `metadata.weight` (default 1; nginx's algorithm: even
 *   spread, no randomness, exact ratios over a cycle); the rest follow by weight.
 * - `least_latency`: lowest EWMA latency first; services not measured yet go first, so they get measured.
 * - `least_in_flight`: fewest requests in flight first.
 * - `lowest_cost`: lowest `metadata.cost` first. `cost` is a number (price per 1k tokens, any currency,
 *   as long as all services use the same) or `{ input, output }` per 1k tokens, ranked by their sum.
 *   A service without a cost goes last: declare `cost: 0` for free (e.g. local) services.
 */
import type { RoutingStrategy } from "@kai/protocol";
import type { RoutedService } from "./service-directory.js";
import type { ServiceRuntime } from "./service-stats.js";

/** What a strategy looks at for one candidate. */
export interface Rankable {
  readonly record: RoutedService;
  readonly runtime: ServiceRuntime;
}

const DEFAULT_PRIORITY = 100;

const numberOr = (value: unknown, fallback: number): number => (typeof value === "number" && Number.isFinite(value) ? value : fallback);

export const priorityOf = (record: RoutedService): number => numberOr(record.metadata.priority, DEFAULT_PRIORITY);
export const weightOf = (record: RoutedService): number => Math.max(0, numberOr(record.metadata.weight, 1));

/** The price used to rank `lowest_cost`; Infinity when the record declares none. */
export function costOf(record: RoutedService): number {
  const cost = record.metadata.cost;
  if (typeof cost === "number" && Number.isFinite(cost)) return cost;
  if (cost && typeof cost === "object" && !Array.isArray(cost)) {
    const input = numberOr((cost as Record<string, unknown>).input, Number.NaN);
    const output = numberOr((cost as Record<string, unknown>).output, Number.NaN);
    if (Number.isFinite(input) || Number.isFinite(output)) return (Number.isFinite(input) ? input : 0) + (Number.isFinite(output) ? output : 0);
  }
  return Number.POSITIVE_INFINITY;
}

type Compare = (a: Rankable, b: Rankable) => number;

const byInFlight: Compare = (a, b) => a.runtime.inFlight - b.runtime.inFlight;
const byLatency: Compare = (a, b) => (a.runtime.ewmaLatencyMs ?? -1) - (b.runtime.ewmaLatencyMs ?? -1);
const byPriority: Compare = (a, b) => priorityOf(a.record) - priorityOf(b.record);
const byCost: Compare = (a, b) => {
  const x = costOf(a.record);
  const y = costOf(b.record);
  return x === y ? 0 : x < y ? -1 : 1;
};
const byId: Compare = (a, b) => (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0);

const chain =
  (...compares: Compare[]): Compare =>
  (a, b) => {
    for (const compare of compares) {
      const order = compare(a, b);
      if (order !== 0) return order;
    }
    return 0;
  };

const COMPARES: Record<Exclude<RoutingStrategy, "weighted">, Compare> = {
  priority: chain(byPriority, byInFlight, byId),
  least_latency: chain(byLatency, byInFlight, byPriority, byId),
  least_in_flight: chain(byInFlight, byLatency, byPriority, byId),
  lowest_cost: chain(byCost, byPriority, byInFlight, byId),
};

/** Smooth weighted round-robin: picks one, then the others by weight. Mutates the runtimes' running weights. */
function weighted<T extends Rankable>(candidates: T[]): T[] {
  const live = candidates.filter((candidate) => weightOf(candidate.record) > 0);
  if (live.length === 0) return [...candidates].sort(COMPARES.priority);
  let total = 0;
  let best: T | undefined;
  for (const candidate of live) {
    const weight = weightOf(candidate.record);
    total += weight;
    candidate.runtime.rrWeight += weight;
    if (!best || candidate.runtime.rrWeight > best.runtime.rrWeight) best = candidate;
  }
  best!.runtime.rrWeight -= total;
  const rest = candidates.filter((candidate) => candidate !== best).sort((a, b) => weightOf(b.record) - weightOf(a.record) || byId(a, b));
  return [best!, ...rest];
}

/** The candidates in the order to try them. */
export function order<T extends Rankable>(candidates: readonly T[], strategy: RoutingStrategy): T[] {
  if (candidates.length <= 1) return [...candidates];
  if (strategy === "weighted") return weighted([...candidates]);
  return [...candidates].sort(COMPARES[strategy]);
}
