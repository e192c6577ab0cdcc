/**
 * @module cluster/limits/limit-types
 * The contract of the node's rate counters: fixed windows keyed by a string (a token and bucket, a sender DID,
 * a service id), counted in one place for every instance of the node, so N instances admit the limit once,
 * not N times. Counters only count: `add` adds atomically and returns the window's total after the addition,
 * and the caller compares it with its limit (a hit is admitted when the total is at most the limit). Adding
 * and comparing in one atomic step per hit is what makes the admitted number exact under concurrency; a
 * read-then-write limiter is not (better-auth/better-auth#10000).
 *
 * Where the counts live: `memory` (one process: the single-instance node), `postgres` (one row per window,
 * one upsert per hit, the window on the database's clock), `redis` (one Lua script per hit, PostgreSQL
 * counting instead while Redis is unreachable).
 */

/** Where a count was made. `local` = this instance alone, because the shared store could not be reached. */
export type CountSource = "memory" | "postgres" | "redis" | "local";

export interface WindowCount {
  /**
   * The window's total after this call. For a `local` count (shared store down), this instance's own total
   * multiplied by the number of live instances, so that comparing it with the node-wide limit gives each
   * instance its share of the limit (Grafana Tempo's "global limit ÷ live members").
   */
  readonly total: number;
  /** Ms until the window ends and the total starts again from zero. */
  readonly resetMs: number;
  readonly source: CountSource;
}

/** What a counter does when its shared store cannot be reached (PostgreSQL down, and Redis too when used). */
export type WhenStoreDown =
  /** Reject with `LimitStoreUnavailable`: the caller refuses the request (fail closed). */
  | "fail"
  /** Count in this instance's memory, scaled by the number of live instances (fail to a local share). */
  | "local";

export interface WindowCounter {
  /** Counter name (with the window), e.g. `http@60000`. */
  readonly id: string;
  readonly windowMs: number;
  /** Adds `amount` (a positive integer, default 1) to `key`'s current window, atomically, and returns the total. */
  add(key: string, amount?: number): Promise<WindowCount>;
  /** The current window's total without adding (0 when no window is open). */
  read(key: string): Promise<WindowCount>;
  /** Takes `amount` back from the current window (an admitted attempt that was not sent after all). Best effort. */
  refund(key: string, amount?: number): Promise<void>;
}

export interface CounterOptions {
  /** Default `fail`. */
  whenDown?: WhenStoreDown;
}

/** Which store the counters use right now. */
export interface LimitsState {
  readonly mode: "memory" | "postgres" | "redis";
  /** Redis mode only: true while Redis is unreachable and PostgreSQL counts instead. */
  readonly degraded: boolean;
}

export interface RateLimits {
  readonly mode: "memory" | "postgres" | "redis";
  /** True when every instance counts in the same place (postgres, redis). */
  readonly shared: boolean;
  /** The counter named `name` with windows of `windowMs` (the same object for the same name, window and options). */
  counter(name: string, windowMs: number, options?: CounterOptions): WindowCounter;
  state(): LimitsState;
  /** Creates the PostgreSQL table when it is missing (under an advisory lock) and starts the sweep of old windows. */
  start(): Promise<void>;
  /** Stops the sweep. The pool and the Redis client belong to the caller, which closes them. */
  close(): Promise<void>;
}

/** Every store a counter could use failed: the limit cannot be checked. */
export class LimitStoreUnavailable extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = "LimitStoreUnavailable";
  }
}
