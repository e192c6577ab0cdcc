/**
 * @module storage/postgres/pg-database
 * The one way every part of the PostgreSQL backend talks to its pool: a statement, or a transaction on one pooled
 * connection. It refuses work once the backend is closed, turns availability failures into
 * `StorageUnavailableError` (pg-errors.ts), throws away a connection that failed (so the pool opens a fresh one
 * once the server is back: recovery needs nothing else), and runs a transaction again after a deadlock.
 */
import type pg from "pg";
import { isRetryable, toStorageError, unavailableReason } from "./pg-errors.js";

/** Attempts of a transaction that keeps losing deadlocks before its error is passed on. */
const DEADLOCK_ATTEMPTS = 4;

export class StoreClosedError extends Error {
  constructor() {
    super("the store is closed");
    this.name = "StoreClosedError";
  }
}

export type Row = Record<string, unknown>;

export class PgDatabase {
  private closed = false;

  constructor(readonly pool: pg.Pool) {}

  get isClosed(): boolean {
    return this.closed;
  }

  markClosed(): void {
    this.closed = true;
  }

  assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }

  /** Runs one statement (its own transaction) and returns its rows. */
  async query<R extends Row = Row>(text: string | pg.QueryConfig, values?: unknown[]): Promise<R[]> {
    this.assertOpen();
    return this.queryWhileClosing<R>(text, values);
  }

  /** `query` without the closed check: for the backend's own drain at close, which still commits queued work. */
  async queryWhileClosing<R extends Row = Row>(text: string | pg.QueryConfig, values?: unknown[]): Promise<R[]> {
    try {
      const result = typeof text === "string" ? await this.pool.query<R>(text, values) : await this.pool.query<R>(text);
      return result.rows;
    } catch (error) {
      throw toStorageError(error);
    }
  }

  /**
   * Runs `work` inside BEGIN … COMMIT on one connection; rolls back and rejects when it throws. A deadlock or
   * serialisation failure runs `work` again from the start (it must not have effects outside the database that a
   * second run would repeat). `whenClosed`: set by the backend's own drain at close, which still needs to commit.
   * `begin`: a first statement without parameters, sent together with BEGIN in one round trip; `work` gets its rows.
   */
  async transaction<T>(work: (client: pg.PoolClient, first: Row[]) => Promise<T>, options: { whenClosed?: boolean; begin?: string } = {}): Promise<T> {
    if (!options.whenClosed) this.assertOpen();
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        throw toStorageError(error);
      }
      let broken = false;
      // A checked-out connection has no error listener of the pool's: an error the server sends between two
      // statements (it is shutting down) would otherwise crash the process. The next statement fails anyway.
      const onError = () => {
        broken = true;
      };
      client.on("error", onError);
      try {
        let first: Row[] = [];
        if (options.begin === undefined) await client.query("BEGIN");
        else {
          // A simple-protocol query with two statements answers with one result each.
          const results = (await client.query(`BEGIN; ${options.begin}`)) as unknown as pg.QueryResult<Row>[];
          first = results[1]?.rows ?? [];
        }
        const value = await work(client, first);
        await client.query("COMMIT");
        return value;
      } catch (error) {
        broken ||= unavailableReason(error) !== null;
        if (!broken) {
          await client.query("ROLLBACK").catch(() => {
            broken = true;
          });
        }
        if (!broken && isRetryable(error) && attempt < DEADLOCK_ATTEMPTS) continue;
        throw toStorageError(error);
      } finally {
        // A broken connection is closed in the background and may still receive an error meanwhile: it keeps the listener.
        if (!broken) client.removeListener("error", onError);
        // A connection that failed may be half-dead: let the pool open a fresh one instead of handing it out again.
        client.release(broken);
      }
    }
  }
}
