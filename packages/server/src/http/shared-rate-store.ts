/**
 * @module http/shared-rate-store
 * A rate-limit store for @fastify/rate-limit whose buckets are shared by every route. The plugin's own
 * in-memory store gives each route a fresh store (`child()`), so a "read" limit would apply per route,
 * not per token; routes that share a bucket pass the same `groupId`, which the plugin appends to the key,
 * and this store makes those keys meet in one place. Counting itself is the plugin's LocalStore.
 */
import LocalStore from "@fastify/rate-limit/store/LocalStore.js";

/** How many token×bucket counters are kept (least recently used are dropped first). */
const MAX_KEYS = 100_000;

interface RateCounter {
  current: number;
  ttl: number;
}

type IncrCallback = (error: Error | null, result: RateCounter) => void;

export class SharedRateStore {
  private readonly counters: InstanceType<typeof LocalStore>;

  constructor(options: { continueExceeding?: boolean; exponentialBackoff?: boolean }) {
    this.counters = new LocalStore(options.continueExceeding ?? false, options.exponentialBackoff ?? false, MAX_KEYS);
  }

  incr(key: string, callback: IncrCallback, timeWindow: number, max: number): void {
    this.counters.incr(key, callback, timeWindow, max);
  }

  child(): SharedRateStore {
    return this;
  }
}
