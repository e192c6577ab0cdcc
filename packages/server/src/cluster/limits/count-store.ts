/**
 * @module cluster/limits/count-store
 * One place where windows are counted (this process's memory, Redis or PostgreSQL), behind the three
 * operations a counter needs. A store throws when it cannot answer; `window-counter.ts` decides what then.
 * Memory and Redis stores are rate-limiter-flexible limiters used as plain counters (`penalty` adds without
 * judging, `get` reads, `reward` takes back): its Redis limiter adds and reads the TTL in one Lua script, so a
 * hit is one atomic round trip with the window on Redis's clock.
 */
import type { RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";
import type { CountSource } from "./limit-types.js";

export interface RawCount {
  total: number;
  resetMs: number;
}

export interface CountStore {
  readonly source: Exclude<CountSource, "local">;
  add(key: string, amount: number): Promise<RawCount>;
  read(key: string): Promise<RawCount>;
  refund(key: string, amount: number): Promise<void>;
}

function rawOf(result: RateLimiterRes | null): RawCount {
  if (!result) return { total: 0, resetMs: 0 };
  return { total: result.consumedPoints, resetMs: Math.max(0, result.msBeforeNext) };
}

/** A rate-limiter-flexible limiter (memory or Redis) as a count store. Its `points` is never used to judge. */
export class FlexibleCountStore implements CountStore {
  constructor(
    readonly source: "memory" | "redis",
    private readonly limiter: RateLimiterAbstract,
  ) {}

  async add(key: string, amount: number): Promise<RawCount> {
    return rawOf(await this.limiter.penalty(key, amount));
  }

  async read(key: string): Promise<RawCount> {
    return rawOf(await this.limiter.get(key));
  }

  async refund(key: string, amount: number): Promise<void> {
    await this.limiter.reward(key, amount);
  }
}
