/**
 * @module cluster/limits/rate-limits
 * The factory of the node's rate counters (`createRateLimits`), chosen once at start by the composition root:
 * - `memory`: one instance (SQLite or memory storage); counts in this process, as before clustering.
 * - `postgres`: every instance counts in one PostgreSQL table (`pg-count-store.ts`), one statement per hit.
 * - `redis`: every instance counts in Redis (rate-limiter-flexible's atomic Lua script), and in PostgreSQL
 *   while Redis is unreachable; the Redis client reconnects by itself and is used again once it answers.
 *
 * The PostgreSQL pool and the Redis client are the caller's: this module neither opens nor closes them.
 */
import type pg from "pg";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis } from "rate-limiter-flexible";
import { FlexibleCountStore, type CountStore } from "./count-store.js";
import type { CounterOptions, CountSource, LimitsState, RateLimits, WindowCounter } from "./limit-types.js";
import { PgCountStore, sweepLimitWindows } from "./pg-count-store.js";
import { ensureLimitsTable } from "./pg-limits-schema.js";
import { FailoverWindowCounter, type StoreHealth } from "./window-counter.js";

export type LimitsBackend =
  | { mode: "memory" }
  | { mode: "postgres"; pool: pg.Pool }
  /** `pool` is the insurance: PostgreSQL counts while Redis is unreachable. */
  | { mode: "redis"; redis: Redis; pool: pg.Pool; keyPrefix?: string };

export interface LimitsLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface RateLimitsOptions {
  logger?: LimitsLogger;
  /** Live instances of the node (a `local` count is scaled by it). Default: always 1. */
  instances?: () => number;
  /** A PostgreSQL statement slower than this counts as a failure, ms. Default 2000. */
  statementTimeoutMs?: number;
  /** How often ended windows are deleted from PostgreSQL, ms; 0 = never. Default 300000. */
  sweepIntervalMs?: number;
}

/** A counter's identity: its name and window (a changed window is a new counter, never a reinterpreted one). */
const NAME = /^[a-z0-9_.:-]{1,64}$/i;

/** The memory-only limits: what a single-instance node uses, and the default of every limited module. */
export function memoryRateLimits(): RateLimits {
  return createRateLimits({ mode: "memory" });
}

export function createRateLimits(backend: LimitsBackend, options: RateLimitsOptions = {}): RateLimits {
  const timeoutMs = options.statementTimeoutMs ?? 2000;
  const instances = options.instances ?? (() => 1);
  const counters = new Map<string, WindowCounter>();
  let sweeper: NodeJS.Timeout | null = null;
  const failing = new Set<CountSource>();
  const health: StoreHealth = {
    failed(source, error) {
      if (failing.has(source)) return;
      failing.add(source);
      const message = error instanceof Error ? error.message : String(error);
      options.logger?.warn({ store: source, err: { message } }, source === "redis" ? "rate counters: Redis failed, counting in PostgreSQL" : "rate counters: the shared store failed");
    },
    answered(source) {
      if (!failing.delete(source)) return;
      options.logger?.info({ store: source }, "rate counters: the store answers again");
    },
  };

  const memoryStore = (id: string, windowMs: number): CountStore =>
    // `points` is never used to judge (counters only count); the window is whole seconds or more.
    new FlexibleCountStore("memory", new RateLimiterMemory({ keyPrefix: id, points: Number.MAX_SAFE_INTEGER, duration: windowMs / 1000 }));

  const build = (id: string, windowMs: number, counterOptions: CounterOptions): WindowCounter => {
    const whenDown = counterOptions.whenDown ?? "fail";
    if (backend.mode === "memory") {
      return new FailoverWindowCounter({ id, windowMs, primary: memoryStore(id, windowMs), whenDown, instances, health });
    }
    const pgStore = new PgCountStore(backend.pool, id, windowMs, timeoutMs);
    const local = whenDown === "local" ? memoryStore(id, windowMs) : undefined;
    if (backend.mode === "postgres") {
      return new FailoverWindowCounter({ id, windowMs, primary: pgStore, whenDown, instances, health, ...(local ? { local } : {}) });
    }
    const redisLimiter = new RateLimiterRedis({
      storeClient: backend.redis,
      keyPrefix: `${backend.keyPrefix ?? "kai:"}limits:${id}`,
      points: Number.MAX_SAFE_INTEGER,
      // Redis expiries are whole seconds: a window of 1.5 s lasts 2 s there.
      duration: Math.max(1, Math.ceil(windowMs / 1000)),
      // While the client is not connected, fail at once (PostgreSQL answers) instead of queueing the command.
      rejectIfRedisNotReady: true,
    });
    const primary = new FlexibleCountStore("redis", redisLimiter);
    return new FailoverWindowCounter({ id, windowMs, primary, fallback: pgStore, whenDown, instances, health, ...(local ? { local } : {}) });
  };

  return {
    mode: backend.mode,
    shared: backend.mode !== "memory",
    counter(name, windowMs, counterOptions = {}) {
      if (!NAME.test(name)) throw new RangeError(`invalid counter name ${JSON.stringify(name)}`);
      if (!Number.isInteger(windowMs) || windowMs < 1000) throw new RangeError(`a counter's window is a whole number of ms, at least 1000 (got ${windowMs})`);
      const id = `${name}@${windowMs}`;
      const cacheKey = `${id}/${counterOptions.whenDown ?? "fail"}`;
      let counter = counters.get(cacheKey);
      if (!counter) counters.set(cacheKey, (counter = build(id, windowMs, counterOptions)));
      return counter;
    },
    state(): LimitsState {
      return { mode: backend.mode, degraded: backend.mode === "redis" && failing.has("redis") };
    },
    async start() {
      if (backend.mode === "memory") return;
      await ensureLimitsTable(backend.pool);
      const every = options.sweepIntervalMs ?? 300_000;
      if (every > 0 && !sweeper) {
        const pool = backend.pool;
        sweeper = setInterval(() => {
          sweepLimitWindows(pool, timeoutMs).catch((error: unknown) => health.failed("postgres", error));
        }, every);
        sweeper.unref();
      }
    },
    async close() {
      if (sweeper) clearInterval(sweeper);
      sweeper = null;
    },
  };
}
