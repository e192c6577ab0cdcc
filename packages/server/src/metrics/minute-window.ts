/**
 * @module metrics/minute-window
 * One hour of gateway calls, minute by minute: per minute the calls, the failures and a latency histogram, in a
 * ring of 60 slots indexed by the minute. Recording is a few additions (on the router's observer microtask, never on
 * a request's path); reading merges slots and estimates quantiles from the histogram, as Prometheus'
 * `histogram_quantile` would. A slot is allocated on the first call in its minute, so a quiet service costs an
 * empty array.
 */
import type { TrafficMinute, TrafficTotals } from "@kai/protocol";

/** Upper bounds of the latency buckets, ms (the last bucket holds everything above the highest bound). */
const BOUNDS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000];

export const WINDOW_MINUTES = 60;
const MINUTE_MS = 60_000;

class MinuteSlot {
  requests = 0;
  errors = 0;
  readonly buckets = new Uint32Array(BOUNDS_MS.length + 1);
  constructor(readonly minute: number) {}
}

/** Sums of several slots (or of several windows). */
export class TrafficSum {
  requests = 0;
  errors = 0;
  readonly buckets = new Uint32Array(BOUNDS_MS.length + 1);

  add(slot: { requests: number; errors: number; buckets: Uint32Array }): void {
    this.requests += slot.requests;
    this.errors += slot.errors;
    for (let i = 0; i < this.buckets.length; i++) this.buckets[i]! += slot.buckets[i]!;
  }

  totals(): TrafficTotals {
    return {
      requests: this.requests,
      errors: this.errors,
      errorRate: this.requests === 0 ? 0 : this.errors / this.requests,
      p50Ms: quantile(this.buckets, 0.5),
      p99Ms: quantile(this.buckets, 0.99),
    };
  }
}

/**
 * The latency at quantile `q`, interpolated linearly inside the bucket that holds it (lower bound 0 for the
 * first). Above the highest bound the answer is that bound: the histogram knows no more.
 */
export function quantile(buckets: Uint32Array, q: number): number | null {
  let count = 0;
  for (const n of buckets) count += n;
  if (count === 0) return null;
  const rank = q * count;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const inBucket = buckets[i]!;
    if (inBucket > 0 && seen + inBucket >= rank) {
      if (i >= BOUNDS_MS.length) return BOUNDS_MS[BOUNDS_MS.length - 1]!;
      const lower = i === 0 ? 0 : BOUNDS_MS[i - 1]!;
      const upper = BOUNDS_MS[i]!;
      return Math.round((lower + (upper - lower) * ((rank - seen) / inBucket)) * 100) / 100;
    }
    seen += inBucket;
  }
  return BOUNDS_MS[BOUNDS_MS.length - 1]!;
}

function bucketOf(latencyMs: number): number {
  for (let i = 0; i < BOUNDS_MS.length; i++) if (latencyMs <= BOUNDS_MS[i]!) return i;
  return BOUNDS_MS.length;
}

export class MinuteWindow {
  private readonly slots: Array<MinuteSlot | undefined> = new Array<MinuteSlot | undefined>(WINDOW_MINUTES);
  /** The minute of the latest call (for forgetting windows that went quiet). */
  lastMinute = -1;

  /** One finished call. `latencyMs` undefined: counted, but not timed (a cancelled call). */
  record(nowMs: number, error: boolean, latencyMs: number | undefined): void {
    const minute = Math.floor(nowMs / MINUTE_MS);
    const index = minute % WINDOW_MINUTES;
    let slot = this.slots[index];
    if (!slot || slot.minute !== minute) this.slots[index] = slot = new MinuteSlot(minute);
    slot.requests += 1;
    if (error) slot.errors += 1;
    if (latencyMs !== undefined && Number.isFinite(latencyMs)) slot.buckets[bucketOf(Math.max(0, latencyMs))]! += 1;
    this.lastMinute = minute;
  }

  /** Whether nothing was recorded within the window ending at `nowMs`. */
  quiet(nowMs: number): boolean {
    return this.lastMinute <= Math.floor(nowMs / MINUTE_MS) - WINDOW_MINUTES;
  }

  /** Adds the slots of the last `minutes` minutes (the current one included) to `into`. */
  sumInto(into: TrafficSum, nowMs: number, minutes = WINDOW_MINUTES): TrafficSum {
    const current = Math.floor(nowMs / MINUTE_MS);
    for (const slot of this.slots) if (slot && slot.minute > current - minutes && slot.minute <= current) into.add(slot);
    return into;
  }

  /** Every minute of the window, oldest first, zeros where nothing happened. */
  minutes(nowMs: number): TrafficMinute[] {
    const current = Math.floor(nowMs / MINUTE_MS);
    const out: TrafficMinute[] = [];
    for (let minute = current - WINDOW_MINUTES + 1; minute <= current; minute++) {
      const slot = this.slots[minute % WINDOW_MINUTES];
      const sum = new TrafficSum();
      if (slot && slot.minute === minute) sum.add(slot);
      out.push({ at: new Date(minute * MINUTE_MS).toISOString(), ...sum.totals() });
    }
    return out;
  }
}
