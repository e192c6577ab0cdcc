/**
 * @module cluster/limits/pg-count-store
 * Counts windows in PostgreSQL with one statement per hit: an upsert that starts a new window when the old one
 * has ended, otherwise adds to it, and returns the total and the time left, all judged by the database's clock
 * (`now()`), so instances whose clocks disagree still agree on the window. Concurrent hits on one key queue on
 * its row lock; each sees the total including every hit committed before it, so N instances admit exactly the
 * limit (the pattern of mindset-ai/memex-ai#295).
 *
 * Not rate-limiter-flexible's RateLimiterPostgres: its upsert is atomic too, but it computes the window from
 * each instance's own clock (`Date.now()`), so an instance whose clock runs ahead resets windows early for all.
 *
 * A statement that takes longer than `timeoutMs` counts as a failure (the caller falls back or refuses), so a
 * hung database cannot hold a request; if it commits later, one hit was counted without being admitted.
 */
import type pg from "pg";
import type { CountStore, RawCount } from "./count-store.js";
import { LIMITS_TABLE } from "./pg-limits-schema.js";

const ADD = `
  INSERT INTO ${LIMITS_TABLE} AS w (counter, key, total, resets_at)
  VALUES ($1, $2, $3, now() + $4::float8 * interval '1 millisecond')
  ON CONFLICT (counter, key) DO UPDATE SET
    total     = CASE WHEN w.resets_at <= now() THEN EXCLUDED.total ELSE w.total + EXCLUDED.total END,
    resets_at = CASE WHEN w.resets_at <= now() THEN EXCLUDED.resets_at ELSE w.resets_at END
  RETURNING total::float8 AS total, ceil(extract(epoch FROM resets_at - now()) * 1000)::float8 AS reset_ms`;

const READ = `
  SELECT total::float8 AS total, ceil(extract(epoch FROM resets_at - now()) * 1000)::float8 AS reset_ms
  FROM ${LIMITS_TABLE} WHERE counter = $1 AND key = $2 AND resets_at > now()`;

const REFUND = `
  UPDATE ${LIMITS_TABLE} SET total = greatest(total - $3, 0)
  WHERE counter = $1 AND key = $2 AND resets_at > now()`;

/** Windows that ended this long ago are deleted by `sweepLimitWindows`. */
const SWEEP = `DELETE FROM ${LIMITS_TABLE} WHERE resets_at < now() - interval '5 minutes'`;

interface CountRow {
  total: number;
  reset_ms: number;
}

export class PgCountStore implements CountStore {
  readonly source = "postgres" as const;

  constructor(
    private readonly pool: pg.Pool,
    /** The counter's row prefix (its name and window). */
    private readonly counter: string,
    private readonly windowMs: number,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Milliseconds until the window resets, never more than the window: `now()` is each transaction's start, so a
   * transaction that started a few ms before the one that opened the window sees that window end a few ms past its own
   * `now() + window` (seen: 60,005 ms for a 60 s window, under load).
   */
  private resetOf(row: CountRow): number {
    return Math.min(this.windowMs, Math.max(0, row.reset_ms));
  }

  async add(key: string, amount: number): Promise<RawCount> {
    const result = await this.query<CountRow>(ADD, [this.counter, key, amount, this.windowMs]);
    const row = result.rows[0]!;
    return { total: row.total, resetMs: this.resetOf(row) };
  }

  async read(key: string): Promise<RawCount> {
    const row = (await this.query<CountRow>(READ, [this.counter, key])).rows[0];
    return row ? { total: row.total, resetMs: this.resetOf(row) } : { total: 0, resetMs: 0 };
  }

  async refund(key: string, amount: number): Promise<void> {
    await this.query(REFUND, [this.counter, key, amount]);
  }

  private query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return withTimeout(this.pool.query<R>(text, values), this.timeoutMs);
  }
}

/** Deletes windows that ended a while ago (any instance may run it; running it twice is harmless). */
export async function sweepLimitWindows(pool: pg.Pool, timeoutMs: number): Promise<number> {
  const result = await withTimeout(pool.query(SWEEP), timeoutMs);
  return result.rowCount ?? 0;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the database did not answer within ${ms} ms`)), ms);
  });
  // A late answer (or failure) of the abandoned query must not surface as an unhandled rejection.
  promise.catch(() => undefined);
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
