/**
 * @module memory/pgvector-index
 * The memory index on PostgreSQL with pgvector (`memory.index.kind: pgvector`, docs/data/memory.md): the vectors live
 * in the database, shared by every instance of the node and kept across restarts, so a start reconciles them with
 * the rows (`beginSync`) instead of adding every vector again.
 *
 * Layout: one table of partitions (key, dimensions, count) and one table of vectors with an untyped `vector`
 * column. A partition of `hnswFrom` vectors or more gets its own partial HNSW index,
 * `((embedding::vector(N)) vector_cosine_ops) WHERE partition_id = P`, built concurrently in the background. Why
 * not a table per dimension count with one index each: partitions are one per owner, namespace and model, so most
 * partitions of one model share their dimensions, and one graph over all of them would make every small owner's
 * search walk everybody else's vectors (a filter on the partition after the search: the trap of issue 17 again).
 * A graph per large partition keeps each search inside its partition, and small partitions need no graph at all: a
 * sequential scan of their rows (the primary key's (partition_id, id) order) ordered by distance is exact and fast.
 *
 * Searching: one cursor over `ORDER BY embedding::vector(N) <=> query` (the planner takes the partition's HNSW
 * index when there is one, else scans and sorts exactly), with `hnsw.iterative_scan = strict_order`: the index
 * scan goes on past `ef_search` candidates for as long as rows are fetched, in distance order. Rows are fetched a
 * page at a time and the `accept` callback (JS: metadata filters, expiry) is applied as they come, until `k` are
 * accepted, a score falls below the threshold, or the cursor ends. An HNSW scan ends early when it has visited
 * `hnsw.max_scan_tuples` tuples (or cannot reach the rest of the graph): if fewer than `k` were accepted while the
 * partition holds more rows than were seen, the search finishes exactly (a second cursor ordered by the uncast
 * column, which no HNSW index can serve, so PostgreSQL scans and sorts). So a filter never returns fewer hits
 * than match.
 *
 * Availability: a statement that fails because the database cannot be reached marks the index down (`check`
 * throws IndexUnavailableError: 503 memory_index_unavailable) and a probe retries every `probeIntervalMs`. Writes
 * that fail so (or come while it is down) are queued in order and replayed before the index is marked up again;
 * the rows are in the store meanwhile, and a write lost with this process (queued, then a crash) is repaired by
 * the next start's reconciliation. `SET LOCAL` only (never a session `SET`): a pooled connection is shared.
 */
import pg from "pg";
import type { Logger } from "../logging/logger.js";
import { unavailableReason } from "../storage/postgres/pg-errors.js";
import { IndexUnavailableError, type IndexSync, type VectorHit, type VectorIndex, type VectorSearch } from "./vector-index.js";

export interface PgvectorIndexOptions {
  /** How to connect (URL, TLS, timeouts: storage/postgres/pg-config.ts `clientConfigOf`). */
  client: pg.ClientConfig;
  /** Connections of this index's pool. */
  poolSize: number;
  /** `hnsw.ef_search`: candidates of an HNSW scan's first round (recall against speed); at least `k` is used. */
  efSearch: number;
  /** `hnsw.max_scan_tuples`: tuples an iterative HNSW scan visits at most before the search finishes exactly. */
  maxScanTuples: number;
  /** Partition size from which a partition gets its HNSW index (below: exact scans). */
  hnswFrom: number;
  /** HNSW graph degree (pgvector's `m`). */
  connectivity: number;
  /** Schema of the index's tables (default `public`); tests use one each. */
  schema?: string;
  logger: Logger;
  /** How often an unavailable database is tried again, ms (default 1000). */
  probeIntervalMs?: number;
}

/** The start cannot go on: the message says what to do (no stack trace is printed for it). */
export class PgvectorSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PgvectorSetupError";
  }
}

interface PartitionInfo {
  id: number;
  dims: number;
  count: number;
  /** Its HNSW index is known to exist (built here or found at start; another instance's build is found by its next build attempt). */
  indexed: boolean;
}

/** Iterative scans (`hnsw.iterative_scan`) came with pgvector 0.8.0. */
const MIN_VERSION = [0, 8, 0] as const;
/** Vectors per upsert statement. */
const WRITE_BATCH = 500;
/** Entries read per page while reconciling with the rows. */
const SYNC_PAGE = 5_000;
/** pgvector's bound of `hnsw.ef_search`. */
const MAX_EF_SEARCH = 1_000;
/** Candidates kept while building a graph (pgvector's `ef_construction`; its default 64 loses recall on clustered text embeddings). */
const EF_CONSTRUCTION = 128;
/** Rows fetched per page of a filtered search at most. */
const MAX_PAGE = 1_000;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,40}$/;

/** `[0.1,0.2,…]`, pgvector's text form: a float32 printed as a double reads back as the same float32. */
function vectorText(vector: Float32Array): string {
  return `[${Array.from(vector, String).join(",")}]`;
}

function versionAtLeast(version: string, wanted: readonly number[]): boolean {
  const parts = version.split(".").map((part) => Number.parseInt(part, 10));
  for (let at = 0; at < wanted.length; at++) {
    const have = parts[at] ?? 0;
    if (have !== wanted[at]) return have > wanted[at]!;
  }
  return true;
}

export class PgvectorIndex implements VectorIndex {
  readonly kind = "pgvector";
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly partitions = new Map<string, PartitionInfo>();
  private loaded = true;
  private down: string | null = null;
  /** Writes that could not reach the database, replayed in order before the index is up again. */
  private readonly queued: Array<() => Promise<void>> = [];
  private probe: NodeJS.Timeout | null = null;
  private probing = false;
  private readonly builds = new Map<number, Promise<void>>();
  private lastBuild: Promise<void> = Promise.resolve();
  private buildClient: pg.Client | null = null;
  private cursors = 0;
  private closed = false;
  /** Searches finished by the exact scan after the index scan gave up (tests, diagnostics). */
  readonly exactFinishes = { count: 0 };

  private constructor(private readonly options: PgvectorIndexOptions) {
    this.schema = options.schema ?? "public";
    if (!IDENTIFIER.test(this.schema)) throw new PgvectorSetupError(`memory.index.pgvector: "${this.schema}" is not a plain schema name`);
    this.pool = new pg.Pool({ ...options.client, max: options.poolSize });
    // An idle connection the server cut is reported here; the next statement finds out and marks the index down.
    this.pool.on("error", () => undefined);
    // And one dropped while checked out, between two statements (pg-pool's listener is off then): kept from ending the
    // process; the next statement fails and marks the index down (as in storage/postgres/pg-store.ts).
    this.pool.on("connect", (client) => client.on("error", () => undefined));
  }

  /** Connects, checks pgvector (a clear error when it is missing or too old), creates the tables, reads the partitions. */
  static async open(options: PgvectorIndexOptions): Promise<PgvectorIndex> {
    const index = new PgvectorIndex(options);
    try {
      await index.prepare();
      return index;
    } catch (error) {
      await index.pool.end().catch(() => undefined);
      const reason = unavailableReason(error);
      if (reason !== null) throw new PgvectorSetupError(`the memory index's PostgreSQL (memory.index.pgvector.url, else storage.postgres.url) cannot be reached (${reason})`);
      throw error;
    }
  }

  private table(name: "partitions" | "vectors"): string {
    return `"${this.schema}".memory_index_${name}`;
  }

  private hnswName(partitionId: number): string {
    return `memory_index_hnsw_${partitionId}`;
  }

  private async prepare(): Promise<void> {
    await this.ensureExtension();
    const partitions = this.table("partitions");
    const vectors = this.table("vectors");
    // `public` is there already (and creating a schema needs the database's CREATE right, even IF NOT EXISTS).
    // Under a transaction-scoped advisory lock: two instances starting at once would race in CREATE … IF NOT EXISTS.
    await this.pool.query(`
      BEGIN;
      SELECT pg_advisory_xact_lock(hashtext('kai memory index tables'));
      ${this.schema !== "public" ? `CREATE SCHEMA IF NOT EXISTS "${this.schema}";` : ""}
      CREATE TABLE IF NOT EXISTS ${partitions} (
        id    serial PRIMARY KEY,
        key   text COLLATE "C" NOT NULL UNIQUE,
        dims  integer NOT NULL,
        count bigint NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS ${vectors} (
        partition_id integer NOT NULL,
        id           text COLLATE "C" NOT NULL,
        embedding    vector NOT NULL,
        added_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (partition_id, id)
      );
      COMMIT;
    `);
    const rows = await this.pool.query<{ id: number; key: string; dims: number; count: string }>(`SELECT id, key, dims, count FROM ${partitions}`);
    const built = await this.pool.query<{ indexname: string }>(
      "SELECT i.relname AS indexname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = $1 AND t.relname = 'memory_index_vectors' AND x.indisvalid",
      [this.schema],
    );
    const names = new Set(built.rows.map((row) => row.indexname));
    for (const row of rows.rows) this.partitions.set(row.key, { id: row.id, dims: row.dims, count: Number(row.count), indexed: names.has(this.hnswName(row.id)) });
  }

  /** `vector` installed and at least 0.8.0, or a start error naming what to install. */
  private async ensureExtension(): Promise<void> {
    const installed = async () => (await this.pool.query<{ extversion: string }>("SELECT extversion FROM pg_extension WHERE extname = 'vector'")).rows[0]?.extversion;
    let version = await installed();
    if (version === undefined) {
      const available = (await this.pool.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).rowCount ?? 0;
      if (available === 0) {
        throw new PgvectorSetupError(
          "memory.index.kind is pgvector but this PostgreSQL server has no pgvector: install it on the database server " +
            "(Debian/Ubuntu: `apt-get install postgresql-<major>-pgvector`, e.g. postgresql-17-pgvector; other systems: https://github.com/pgvector/pgvector#installation), " +
            "then run `CREATE EXTENSION vector;` in the database (or use memory.index.kind embedded)",
        );
      }
      try {
        await this.pool.query("CREATE EXTENSION IF NOT EXISTS vector");
      } catch (error) {
        if (unavailableReason(error) !== null) throw error;
        throw new PgvectorSetupError(
          `pgvector is installed on the server but not enabled in this database, and this user may not enable it (${error instanceof Error ? error.message : String(error)}): ` +
            "run `CREATE EXTENSION vector;` in the database as a superuser or the database owner",
        );
      }
      version = (await installed()) ?? "0";
    }
    if (!versionAtLeast(version, MIN_VERSION)) {
      throw new PgvectorSetupError(
        `pgvector ${version} is too old: the memory index needs ${MIN_VERSION.join(".")} or later (iterative index scans); ` +
          "upgrade the pgvector package on the server, then run `ALTER EXTENSION vector UPDATE;`",
      );
    }
  }

  // ---- availability -------------------------------------------------------------------------------------------

  check(): void {
    if (!this.loaded) throw new IndexUnavailableError("the memory index is being reconciled with the stored memories");
    if (this.down !== null) throw new IndexUnavailableError(`the memory index's database is unavailable (${this.down})`);
  }

  markLoading(): void {
    this.loaded = false;
  }

  markLoaded(): void {
    this.loaded = true;
    // Graphs wanted by partitions that grew while loading are built now, once (not at each page of the start).
    for (const info of this.partitions.values()) this.maybeBuild(info);
  }

  /** Runs `work`; a failure to reach the database marks the index down and becomes IndexUnavailableError. */
  private async guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const reason = unavailableReason(error);
      if (reason === null) throw error;
      this.markDown(reason);
      throw new IndexUnavailableError(`the memory index's database is unavailable (${reason})`);
    }
  }

  private markDown(reason: string): void {
    if (this.down === null) this.options.logger.warn({ reason }, "memory index: its database is unavailable; searches answer 503 until it is back");
    this.down = reason;
    if (this.probe || this.closed) return;
    this.probe = setInterval(() => void this.tryRecover(), this.options.probeIntervalMs ?? 1_000);
    this.probe.unref();
  }

  /** The database answers again: queued writes are replayed in order, then the index is up. */
  private async tryRecover(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await this.pool.query("SELECT 1");
      while (this.queued.length > 0) {
        await this.queued[0]!();
        this.queued.shift();
      }
      if (this.probe) clearInterval(this.probe);
      this.probe = null;
      this.down = null;
      this.options.logger.info("memory index: its database is back; queued changes applied");
    } catch (error) {
      const reason = unavailableReason(error);
      if (reason !== null) this.down = reason;
      else {
        // A queued write the database refuses for another reason would block the queue forever: it is dropped (the next start's reconciliation repairs it).
        this.queued.shift();
        this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "memory index: a queued change failed and was dropped");
      }
    } finally {
      this.probing = false;
    }
  }

  /** A write: done now, or queued while the database is unavailable (the service goes on: its rows are durable). */
  private async write(work: () => Promise<void>): Promise<void> {
    if (this.down !== null || this.queued.length > 0) {
      this.queued.push(work);
      return;
    }
    try {
      await this.guarded(work);
    } catch (error) {
      if (!(error instanceof IndexUnavailableError)) throw error;
      this.queued.push(work);
    }
  }

  // ---- partitions ---------------------------------------------------------------------------------------------

  /** The partition's row as the database has it now (another instance may have made it), or null. */
  private async lookup(partition: string, client: pg.Pool | pg.PoolClient = this.pool): Promise<PartitionInfo | null> {
    const row = (await client.query<{ id: number; dims: number; count: string }>(`SELECT id, dims, count FROM ${this.table("partitions")} WHERE key = $1`, [partition])).rows[0];
    if (!row) {
      this.partitions.delete(partition);
      return null;
    }
    const known = this.partitions.get(partition);
    if (known && known.id === row.id) {
      // Updated in place: a build running in the background holds this object and records its outcome on it.
      known.dims = row.dims;
      known.count = Number(row.count);
      return known;
    }
    const info: PartitionInfo = { id: row.id, dims: row.dims, count: Number(row.count), indexed: false };
    this.partitions.set(partition, info);
    return info;
  }

  /** The partition for vectors of `dims` dimensions: made when new; an empty one takes new dimensions. */
  private async partitionFor(partition: string, dims: number): Promise<PartitionInfo> {
    const known = this.partitions.get(partition);
    if (known && known.dims === dims) return known;
    await this.pool.query(`INSERT INTO ${this.table("partitions")} (key, dims) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [partition, dims]);
    const info = (await this.lookup(partition))!;
    if (info.dims !== dims) {
      // The first vector fixes the dimensions; a partition emptied since may start again with others (and loses its graph).
      const changed = await this.pool.query(`UPDATE ${this.table("partitions")} SET dims = $2 WHERE id = $1 AND count = 0`, [info.id, dims]);
      if ((changed.rowCount ?? 0) === 0) throw new Error(`a vector of ${dims} dimensions in a partition of ${info.dims}`);
      await this.pool.query(`DROP INDEX IF EXISTS "${this.schema}".${this.hnswName(info.id)}`);
      info.dims = dims;
      info.indexed = false;
    }
    return info;
  }

  // ---- writes -------------------------------------------------------------------------------------------------

  add(partition: string, id: string, vector: Float32Array): Promise<void> {
    return this.addMany(partition, [{ id, vector }]);
  }

  /**
   * An upsert (a re-added id is replaced, so another instance's re-add after a signal changes nothing), counted in
   * the partition's row in the same statement: every write reads back the partition's count as the database has it.
   */
  addMany(partition: string, entries: ReadonlyArray<{ id: string; vector: Float32Array }>): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    // One row per id (the last wins), in id order: two batches lock the same rows in the same order, so never deadlock.
    const byId = new Map(entries.map((entry) => [entry.id, entry.vector]));
    const ids = [...byId.keys()].sort();
    const dims = entries[0]!.vector.length;
    for (const vector of byId.values()) if (vector.length !== dims) throw new Error(`a vector of ${vector.length} dimensions in a partition of ${dims}`);
    return this.write(async () => {
      const info = await this.partitionFor(partition, dims);
      for (let start = 0; start < ids.length; start += WRITE_BATCH) {
        const batch = ids.slice(start, start + WRITE_BATCH);
        const result = await this.pool.query<{ count: string }>(
          `WITH upserted AS (
             INSERT INTO ${this.table("vectors")} (partition_id, id, embedding)
             SELECT $1, u.id, u.embedding::vector FROM unnest($2::text[], $3::text[]) AS u(id, embedding)
             ON CONFLICT (partition_id, id) DO UPDATE SET embedding = excluded.embedding, added_at = clock_timestamp()
             RETURNING (xmax = 0) AS inserted
           )
           UPDATE ${this.table("partitions")} SET count = count + (SELECT count(*) FROM upserted WHERE inserted) WHERE id = $1 RETURNING count`,
          [info.id, batch, batch.map((id) => vectorText(byId.get(id)!))],
        );
        info.count = Number(result.rows[0]?.count ?? info.count);
      }
      if (this.loaded) this.maybeBuild(info);
    });
  }

  remove(partition: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    return this.write(async () => {
      const info = this.partitions.get(partition) ?? (await this.lookup(partition));
      if (!info) return;
      const result = await this.pool.query<{ count: string }>(
        `WITH gone AS (DELETE FROM ${this.table("vectors")} WHERE partition_id = $1 AND id = ANY($2::text[]) RETURNING 1)
         UPDATE ${this.table("partitions")} SET count = count - (SELECT count(*) FROM gone) WHERE id = $1 RETURNING count`,
        [info.id, [...ids]],
      );
      info.count = Number(result.rows[0]?.count ?? info.count);
    });
  }

  /** Builds the partition's HNSW index in the background once it holds `hnswFrom` vectors (searches are exact meanwhile). */
  private maybeBuild(info: PartitionInfo): void {
    if (info.indexed || info.count < this.options.hnswFrom || this.builds.has(info.id) || this.closed) return;
    // One build at a time (after the one running): a build is heavy work for the database server.
    const build = this.lastBuild
      .then(() => this.build(info))
      .catch((error: unknown) => {
        this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "memory index: building a partition's HNSW index failed; searches stay exact until a later write retries");
      })
      .finally(() => this.builds.delete(info.id));
    this.builds.set(info.id, build);
    this.lastBuild = build;
  }

  private async build(info: PartitionInfo): Promise<void> {
    if (this.closed) return;
    const name = this.hnswName(info.id);
    const state = async () =>
      (
        await this.pool.query<{ valid: boolean; building: boolean }>(
          `SELECT x.indisvalid AS valid, EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.oid) AS building
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace WHERE n.nspname = $1 AND i.relname = $2`,
          [this.schema, name],
        )
      ).rows[0] ?? null;
    const before = await state();
    // Another instance is building it: its outcome is found by a later write's attempt.
    if (before?.building) return;
    const started = performance.now();
    // A connection of its own without the statement timeout: a build over many vectors takes minutes, and the
    // pool's connections stay for the searches. Ended by `close` (the server then cancels the build).
    const client = new pg.Client({ ...this.options.client, statement_timeout: 0 });
    client.on("error", () => undefined);
    this.buildClient = client;
    await client.connect();
    try {
      // The invalid leftover of a build that was cut off (a stop, a crash) and that nobody builds: dropped first.
      if (before && !before.valid) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS "${this.schema}".${name}`);
      if (!before || !before.valid) {
        await client.query(
          // CONCURRENTLY: writes to the table go on while it is built. The cast gives the index its fixed dimensions.
          `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ON ${this.table("vectors")} USING hnsw ((embedding::vector(${info.dims})) vector_cosine_ops) ` +
            `WITH (m = ${this.options.connectivity}, ef_construction = ${EF_CONSTRUCTION}) WHERE partition_id = ${info.id}`,
        );
      }
    } finally {
      this.buildClient = null;
      await client.end().catch(() => undefined);
    }
    info.indexed = (await state())?.valid ?? false;
    if (info.indexed) this.options.logger.info({ vectors: info.count, ms: Math.round(performance.now() - started) }, "memory index: HNSW index built for a partition");
  }

  /** Resolves once the HNSW builds running now are over (tests; diagnostics). */
  async settled(): Promise<void> {
    while (this.builds.size > 0) await Promise.all(this.builds.values());
  }

  // ---- search -------------------------------------------------------------------------------------------------

  async search(search: VectorSearch): Promise<VectorHit[]> {
    if (search.k <= 0) return [];
    return this.guarded(async () => {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN READ ONLY");
        const hits = await this.searchIn(client, search);
        await client.query("COMMIT");
        return hits;
      } catch (error) {
        broken = unavailableReason(error) !== null;
        if (!broken) await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release(broken);
      }
    });
  }

  private async searchIn(client: pg.PoolClient, search: VectorSearch): Promise<VectorHit[]> {
    const info = await this.lookup(search.partition, client);
    if (!info || info.count === 0) return [];
    if (search.query.length !== info.dims) throw new Error(`a query of ${search.query.length} dimensions in a partition of ${info.dims}`);
    const efSearch = Math.min(MAX_EF_SEARCH, Math.max(this.options.efSearch, search.k));
    // enable_sort off: a partition with a valid HNSW index is searched through it whatever the statistics say
    // (every other plan must sort); one without (small, or its build still running) is sorted all the same.
    await client.query(
      `SET LOCAL hnsw.iterative_scan = strict_order; SET LOCAL hnsw.ef_search = ${efSearch}; SET LOCAL hnsw.max_scan_tuples = ${this.options.maxScanTuples}; SET LOCAL enable_sort = off`,
    );
    const query = vectorText(search.query);
    const dims = info.dims;
    // The cast matches the partition's HNSW index expression, so the planner may use it (strict order, iterative).
    const indexed = await this.scan(client, search, `embedding::vector(${dims}) <=> $1::vector(${dims})`, info.id, query);
    if (indexed.done || indexed.seen >= info.count) return indexed.hits;
    // The index scan gave up (max_scan_tuples, or parts of the graph it cannot reach) before k were accepted while
    // rows it never saw remain: finish exactly. The uncast column matches no index: a scan and a sort.
    this.exactFinishes.count++;
    await client.query("SET LOCAL enable_sort = on");
    return (await this.scan(client, search, `embedding <=> $1::vector`, info.id, query)).hits;
  }

  /**
   * Fetches rows nearest first through a cursor, a page at a time, applying `accept` and the threshold as they come.
   * `done`: k accepted, or the threshold reached (nothing further can qualify).
   */
  private async scan(client: pg.PoolClient, search: VectorSearch, distance: string, partitionId: number, query: string): Promise<{ hits: VectorHit[]; seen: number; done: boolean }> {
    // Names are the session's: unique ones, as one session may be shared (a pooler, or PGlite in the tests).
    const cursor = `memory_scan_${++this.cursors}`;
    await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT id, ${distance} AS distance FROM ${this.table("vectors")} WHERE partition_id = ${partitionId} ORDER BY ${distance}`, [query]);
    const threshold = search.threshold ?? -Infinity;
    const page = search.accept ? Math.min(MAX_PAGE, Math.max(64, search.k * 4)) : search.k;
    const hits: VectorHit[] = [];
    let seen = 0;
    try {
      for (;;) {
        const rows = (await client.query<{ id: string; distance: number }>(`FETCH ${page} FROM ${cursor}`)).rows;
        for (const row of rows) {
          seen++;
          // Cosine distance is 1 - similarity.
          const score = 1 - row.distance;
          if (score < threshold) return { hits, seen, done: true };
          if (search.accept && !search.accept(row.id)) continue;
          hits.push({ id: row.id, score });
          if (hits.length === search.k) return { hits, seen, done: true };
        }
        if (rows.length < page) return { hits, seen, done: false };
      }
    } finally {
      await client.query(`CLOSE ${cursor}`).catch(() => undefined);
    }
  }

  size(partition: string): number {
    return this.partitions.get(partition)?.count ?? 0;
  }

  // ---- start: reconciling the kept vectors with the rows ------------------------------------------------------

  /**
   * The vectors are kept in the database across restarts: the start asks which of each page of rows are held (and
   * adds only the others), then removes the entries no row accounts for. Only entries written before `beginSync`
   * can be removed: one another instance adds meanwhile has its row already written, after this start's read of
   * the rows may have passed it.
   */
  async beginSync(): Promise<IndexSync> {
    const since = await this.guarded(async () => (await this.pool.query<{ now: Date }>("SELECT clock_timestamp() AS now")).rows[0]!.now);
    return {
      held: (partition, ids) => this.guarded(() => this.held(partition, ids)),
      finish: (keep) => this.guarded(() => this.prune(keep, since)),
    };
  }

  private async held(partition: string, ids: readonly string[]): Promise<ReadonlySet<string>> {
    const info = this.partitions.get(partition) ?? (await this.lookup(partition));
    if (!info || ids.length === 0) return new Set();
    const rows = await this.pool.query<{ id: string }>(`SELECT id FROM ${this.table("vectors")} WHERE partition_id = $1 AND id = ANY($2::text[])`, [info.id, [...ids]]);
    return new Set(rows.rows.map((row) => row.id));
  }

  private async prune(keep: (partition: string, id: string) => boolean, since: Date): Promise<number> {
    // Every partition the database has (another instance may have made some since this one started).
    const keys = new Map((await this.pool.query<{ id: number; key: string }>(`SELECT id, key FROM ${this.table("partitions")}`)).rows.map((row) => [row.id, row.key]));
    let removed = 0;
    let after: [number, string] = [-1, ""];
    for (;;) {
      const page = (
        await this.pool.query<{ partition_id: number; id: string }>(
          `SELECT partition_id, id FROM ${this.table("vectors")} WHERE (partition_id, id) > ($1, $2) AND added_at < $3 ORDER BY partition_id, id LIMIT ${SYNC_PAGE}`,
          [after[0], after[1], since],
        )
      ).rows;
      const gone = new Map<string, string[]>();
      for (const row of page) {
        const key = keys.get(row.partition_id);
        if (key === undefined || keep(key, row.id)) continue;
        const list = gone.get(key);
        if (list) list.push(row.id);
        else gone.set(key, [row.id]);
      }
      for (const [key, ids] of gone) {
        await this.remove(key, ids);
        removed += ids.length;
      }
      if (page.length < SYNC_PAGE) return removed;
      const last = page[page.length - 1]!;
      after = [last.partition_id, last.id];
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
    if (this.queued.length > 0) this.options.logger.warn({ writes: this.queued.length }, "memory index: changes still queued for its unavailable database are dropped; the next start reconciles the index with the rows");
    // A build running is not waited for (it may take minutes): its connection is cut, the server cancels it, and
    // the invalid index it leaves is dropped and built again after a later start.
    await this.buildClient?.end().catch(() => undefined);
    await Promise.allSettled(this.builds.values());
    await this.pool.end();
  }
}
