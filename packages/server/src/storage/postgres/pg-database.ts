/**
 * @module storage/postgres/pg-database
 * The one way every part of the PostgreSQL backend talks to its pool: a statement, or a transaction on one pooled
 * connection. It refuses work once the backend is closed, turns availability failures into
 * `StorageUnavailableError` (pg-errors.ts), throws away a connection that failed (so the pool opens a fresh one
 * once the server is back: recovery needs nothing else), and runs a transaction again after a deadlock. A
 * transaction's last write may carry its COMMIT in the same round trip (`thenCommit`), and a transaction of one
 * statement its BEGIN too (`transactionOfOne`).
 */
import pg from "pg";
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

/** Runs the transaction's last statement and COMMIT in one round trip; resolves with the statement's rows once committed. */
export type ThenCommit = (statement: pg.QueryConfig) => Promise<Row[]>;

/** The part of pg's Query this module extends (not in its type declarations). */
interface QueryInternals {
  _getRows(connection: WireConnection, rows: number | undefined): void;
  prepare(connection: WireConnection): void;
}

interface WireConnection {
  parse(query: { text: string }): void;
  bind(config: { values: unknown[] }): void;
  execute(config: { portal: string; rows?: number }): void;
  sync(): void;
}

/**
 * `statement` and then COMMIT as one pipeline of the extended protocol: the statement's Parse (first use on the
 * connection), Bind and Execute, then COMMIT's Parse, Bind and Execute, then ONE Sync, written at once. The server
 * answers both before the one ReadyForQuery, so this resolves only after COMMIT returned (the write is durable).
 * If the statement fails, the server skips everything up to the Sync: COMMIT never runs, the transaction stays
 * aborted and the caller rolls back as after any failed statement. pg sends a prepared statement's Execute and
 * Sync from `_getRows`; that is the step replaced here. `begin`: BEGIN's Parse, Bind and Execute go first, from the
 * statement's `prepare` (a transaction of one statement in one round trip: `transactionOfOne`).
 */
function queryThenCommit(client: pg.PoolClient, statement: pg.QueryConfig, options: { begin?: boolean } = {}): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const query = new pg.Query<Row>(statement, (error: Error | undefined, results: unknown) => {
      if (settled) return;
      settled = true;
      if (error) return reject(error);
      // Two or three commands answered: pg hands back one result per command; the statement's follows BEGIN's.
      const ofStatement = (Array.isArray(results) ? results[options.begin ? 1 : 0] : results) as pg.QueryResult<Row> | undefined;
      resolve(ofStatement?.rows ?? []);
    });
    const internals = query as unknown as QueryInternals;
    if (options.begin) {
      // BEGIN's Parse, Bind and Execute ahead of the statement's, in the same write (pg corks the socket around it).
      const prepare = internals.prepare.bind(query);
      internals.prepare = (connection) => {
        connection.parse({ text: "BEGIN" });
        connection.bind({ values: [] });
        connection.execute({ portal: "" });
        prepare(connection);
      };
    }
    internals._getRows = (connection, rows) => {
      connection.execute({ portal: "", ...(rows ? { rows } : {}) });
      connection.parse({ text: "COMMIT" });
      connection.bind({ values: [] });
      connection.execute({ portal: "" });
      connection.sync();
    };
    client.query(query);
  });
}

/** `transaction`'s `begin` for a transaction of one statement, sent with its BEGIN and COMMIT in one round trip. */
const BEGIN_IN_PIPELINE = Symbol("begin in the statement's pipeline");

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
   * A transaction of one statement: BEGIN, `statement` and COMMIT in one round trip (one pipeline, one Sync). Resolves
   * with the statement's rows once committed; rolls back and rejects when it fails. For a write that takes the locks
   * it needs itself (the registry batch planned before any read: PgServiceBatcher).
   */
  transactionOfOne(statement: pg.QueryConfig, options: { whenClosed?: boolean } = {}): Promise<Row[]> {
    return this.transaction((_client, _first, thenCommit) => thenCommit(statement), { ...options, begin: BEGIN_IN_PIPELINE });
  }

  /**
   * Runs `work` inside BEGIN … COMMIT on one connection; rolls back and rejects when it throws. A deadlock or
   * serialisation failure runs `work` again from the start (it must not have effects outside the database that a
   * second run would repeat). `whenClosed`: set by the backend's own drain at close, which still needs to commit.
   * `begin`: a first statement without parameters, sent together with BEGIN in one round trip; `work` gets its rows.
   * `thenCommit`: `work` may run its last statement through it, which commits in the same round trip; otherwise
   * COMMIT follows `work`. Either way the transaction resolves only once committed.
   */
  async transaction<T>(
    work: (client: pg.PoolClient, first: Row[], thenCommit: ThenCommit) => Promise<T>,
    options: { whenClosed?: boolean; begin?: string | typeof BEGIN_IN_PIPELINE } = {},
  ): Promise<T> {
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
        // BEGIN_IN_PIPELINE: BEGIN goes out with the one statement `work` sends, through thenCommit.
        const beginWithCommit = options.begin === BEGIN_IN_PIPELINE;
        if (options.begin === undefined) await client.query("BEGIN");
        else if (typeof options.begin === "string") {
          // A simple-protocol query with two statements answers with one result each.
          const results = (await client.query(`BEGIN; ${options.begin}`)) as unknown as pg.QueryResult<Row>[];
          first = results[1]?.rows ?? [];
        }
        let committed = false;
        const thenCommit: ThenCommit = async (statement) => {
          if (committed) throw new Error("the transaction is committed already");
          const rows = await queryThenCommit(client, statement, { begin: beginWithCommit });
          committed = true;
          return rows;
        };
        const value = await work(client, first, thenCommit);
        if (!committed) await client.query("COMMIT");
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
