/**
 * @module cluster/limits/fastify-store
 * A store for @fastify/rate-limit whose counts live in the node's shared counters, so one token's bucket is
 * one bucket across every instance. The plugin asks `incr(key, callback, timeWindow, max)` and judges the
 * answer itself (`current > max` → 429 with Retry-After from `ttl`); the key already carries the bucket
 * (the plugin appends the route's `groupId`), and every route shares one store (`child()` returns it).
 *
 * When no shared store answers, the request fails closed with 503 `storage_unavailable` (Retry-After: 1):
 * the API behind these buckets needs the same database, and an unchecked bucket would be no limit at all. A counter
 * made with `whenDown: "local"` (the per-address tiers) counts this instance's share in memory instead.
 */
import { ApiError } from "../../errors.js";
import { LimitStoreUnavailable, type CounterOptions, type RateLimits } from "./limit-types.js";

interface RateCounter {
  current: number;
  ttl: number;
}

type IncrCallback = (error: Error | null, result?: RateCounter) => void;

export interface FastifyRateStore {
  incr(key: string, callback: IncrCallback, timeWindow: number, max: number): void;
  child(): FastifyRateStore;
}

/** The store class to hand to @fastify/rate-limit (`store:`); it is constructed by the plugin. */
export function sharedFastifyStore(limits: RateLimits, counterName = "http", counterOptions: CounterOptions = {}): new (options: unknown) => FastifyRateStore {
  return class SharedCounterStore implements FastifyRateStore {
    incr(key: string, callback: IncrCallback, timeWindow: number): void {
      // A window of 1.5 s is 1500 ms; counters take whole milliseconds.
      const counter = limits.counter(counterName, Math.round(timeWindow), counterOptions);
      counter.add(key).then(
        (count) => callback(null, { current: count.total, ttl: count.resetMs }),
        (error: unknown) => {
          if (error instanceof LimitStoreUnavailable) {
            callback(new ApiError("storage_unavailable", "the rate limit cannot be checked: the database is unreachable; retry shortly", undefined, { "Retry-After": "1" }));
          } else callback(error instanceof Error ? error : new Error(String(error)));
        },
      );
    }

    child(): FastifyRateStore {
      return this;
    }
  };
}
