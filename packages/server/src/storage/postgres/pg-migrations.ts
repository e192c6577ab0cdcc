/**
 * @module storage/postgres/pg-migrations
 * The numbered schema migrations of the PostgreSQL backend and the runner that applies them at open.
 * Several instances of one node may start at the same moment against one database, so the runner holds a
 * session advisory lock (`MIGRATION_LOCK`) on one connection for the whole run: the second instance waits,
 * then finds every migration applied and does nothing. Each migration runs in its own transaction together
 * with its row in `kai_schema_migrations`, so a crash mid-migration leaves the database at the previous
 * version, never half-way. Migrations are append-only once released: a change is a new number.
 */
import pg from "pg";
import { VAULT_SCHEMA } from "./pg-vault-schema.js";
import { CLUSTER_SCHEMA } from "./pg-cluster-schema.js";
import { IDENTITY_SCHEMA } from "./pg-identity-schema.js";
import { TASK_RUNNER_SCHEMA, TASK_SCHEMA } from "./pg-task-store.js";
import { PROMPT_SCHEMA } from "./pg-prompt-store.js";
import { ARTIFACT_SCHEMA } from "./pg-artifact-store.js";
import { A2A_PUSH_SCHEMA } from "./pg-a2a-push-store.js";
import { PLUGIN_INSTALL_SCHEMA } from "./pg-plugin-install-store.js";
import { PG_SEMANTIC_MEMORY_SCHEMA } from "./pg-semantic-store.js";

export interface PgMigration {
  version: number;
  description: string;
  sql: string;
}

/**
 * Key of the session advisory lock the runner holds (one fixed bigint for every kAI database; only kAI's
 * runner takes it). Any other advisory lock of ours must use a different key.
 */
export const MIGRATION_LOCK = "7164917000001";

/** The node's own tables: the PostgreSQL counterpart of SQLite's schema (storage/sqlite/migrations.ts, as of its version 6). */
const NODE_SCHEMA = `
  -- The record lives in doc (its JSON text, kept byte for byte: events repeat it); the columns duplicate what
  -- queries filter on. seq is the revision that created the record: listings run in seq order, and new records
  -- append to every index below instead of landing at random places.
  CREATE TABLE services (
    seq          bigint PRIMARY KEY,
    id           text NOT NULL UNIQUE,
    owner        text NOT NULL,
    visibility   text NOT NULL,
    type         text NOT NULL,
    provider     text,
    status       text NOT NULL,
    ttl          integer,
    heartbeat_at bigint,
    updated_at   bigint NOT NULL,
    revision     bigint NOT NULL,
    search       text NOT NULL,
    doc          text NOT NULL
  );
  -- One owner's records in listing order (owner filter, and the owner half of the visibility rule).
  CREATE INDEX services_owner ON services (owner, seq);
  -- Status filters in listing order, and countServices (GROUP BY status with the visibility rule) from the index alone.
  CREATE INDEX services_status ON services (status, seq) INCLUDE (visibility, owner);
  -- The lease monitor reads only records with a ttl.
  CREATE INDEX services_leases ON services (id) WHERE ttl IS NOT NULL;

  -- (value, seq): a filtered listing walks one value's services in listing order and stops at the page size.
  CREATE TABLE service_tags (
    tag text NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (tag, seq)
  );
  CREATE TABLE service_capabilities (
    capability text NOT NULL,
    seq        bigint NOT NULL,
    PRIMARY KEY (capability, seq)
  );

  -- The change log. previous: the record before the change (null for a registration), so a reader of the log
  -- (another instance's cache, the watch stream) can undo or diff without a lookup.
  CREATE TABLE events (
    revision   bigint PRIMARY KEY,
    event      text NOT NULL,
    service_id text NOT NULL,
    doc        text NOT NULL,
    previous   text
  );

  -- Internal bookkeeping: 'revision' is THE revision counter (every registry write transaction bumps it, which
  -- serialises registry writes across instances so revisions commit in order); 'events_compacted_through' is
  -- the highest revision compaction dropped.
  CREATE TABLE store_state (
    key   text PRIMARY KEY,
    value bigint NOT NULL
  );
  INSERT INTO store_state (key, value) VALUES ('revision', 0), ('events_compacted_through', 0);

  CREATE TABLE tokens (
    id         text PRIMARY KEY,
    owner      text NOT NULL,
    scopes     text NOT NULL,
    name       text,
    -- Secret-name patterns (JSON list); null = no limit beyond the token's scopes.
    secrets    text,
    created_at text NOT NULL,
    expires_at text NOT NULL,
    revoked_at text
  );

  CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
  );

  CREATE TABLE federation_peers (
    did      text PRIMARY KEY,
    url      text NOT NULL,
    name     text,
    trusted  boolean NOT NULL,
    added_at text NOT NULL,
    cursor   bigint NOT NULL DEFAULT 0,
    epoch    text
  );
  -- Keyed by origin first: a peer's records are dropped together when it is removed.
  CREATE TABLE federation_imports (
    origin          text NOT NULL,
    service_id      text NOT NULL,
    origin_revision bigint NOT NULL,
    expires_at      bigint NOT NULL,
    statement       text NOT NULL,
    PRIMARY KEY (origin, service_id)
  );
`;

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: "services, tag and capability indexes, event log with previous records, revision counter, tokens, meta, federation, vault, cluster",
    sql: `${NODE_SCHEMA}\n${VAULT_SCHEMA}\n${CLUSTER_SCHEMA}`,
  },
  {
    version: 2,
    description: "fresher planner statistics on the listing tables",
    // Autovacuum analyses a table after 10 % of it changed by default; a registry that grows from nothing to 100k
    // services was planned with the statistics of a small table (a scan and sort of every match instead of an
    // index walk that stops at the page size: 47 ms against 2 ms at 20k services, docs/benchmarks.md). Analyse
    // these tables after 1 % (and at least 1,000 rows) changed.
    sql: `
      ALTER TABLE services SET (autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 1000);
      ALTER TABLE service_tags SET (autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 1000);
      ALTER TABLE service_capabilities SET (autovacuum_analyze_scale_factor = 0.01, autovacuum_analyze_threshold = 1000);
    `,
  },
  {
    version: 3,
    description: "sign-in: users, custom roles, sessions, TOTP, recovery codes, passkeys, one-time challenges, security log",
    sql: IDENTITY_SCHEMA,
  },
  {
    version: 4,
    description: "agent mesh (issue 16): kCore's tasks and their numbered events",
    sql: TASK_SCHEMA,
  },
  {
    version: 5,
    description: "agent mesh (issue 16): each task's runner instance and an answer left for it",
    sql: TASK_RUNNER_SCHEMA,
  },
  {
    version: 6,
    description: "prompts (issue 17): prompts, their immutable versions and a full-text index",
    sql: PROMPT_SCHEMA,
  },
  {
    version: 7,
    description: "artifacts (issue 17): artifacts, their tags, reference-counted blobs and share links",
    sql: ARTIFACT_SCHEMA,
  },
  {
    version: 8,
    description: "memory (issue 17): memories with their namespace, metadata, expiry and vector",
    sql: PG_SEMANTIC_MEMORY_SCHEMA,
  },
  {
    version: 9,
    description: "agent mesh (issue 16): A2A push notification configs of kCore's tasks",
    sql: A2A_PUSH_SCHEMA,
  },
  {
    version: 10,
    description: "plugins (issue 18): the desired plugin installs every instance follows",
    sql: PLUGIN_INSTALL_SCHEMA,
  },
];

/** The schema version this code writes. */
export const PG_LATEST_VERSION = PG_MIGRATIONS.reduce((max, migration) => Math.max(max, migration.version), 0);

type Queryable = pg.Pool | pg.PoolClient | pg.Client;

/**
 * Brings the database up to `PG_LATEST_VERSION` and returns the versions this call applied (empty when another
 * instance, or an earlier start, already had). Safe to call from several processes at once. Takes a connection
 * of `target` (a pool) or uses `target` itself (a client) for the whole run: the lock belongs to a session.
 * Refuses a database written by a newer version, whose schema this code would not know.
 */
export async function migratePostgres(target: Queryable): Promise<number[]> {
  const pooled = target instanceof pg.Pool;
  const client = pooled ? await target.connect() : (target as pg.ClientBase);
  let broken = false;
  // A checked-out connection has no error listener of the pool's; a server error between statements must not crash.
  const onError = () => {
    broken = true;
  };
  if (pooled) client.on("error", onError);
  try {
    await client.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK]);
    try {
      return await applyPending(client);
    } finally {
      await client.query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK]).catch(() => {
        // The connection is gone, and with it the lock; a pooled one must not be reused.
        broken = true;
      });
    }
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    if (pooled) {
      // A connection released as broken is closed in the background; the server may still send it an error (it is
      // shutting down) before it is gone, so it keeps a listener: an error event without one crashes the process.
      if (!broken) client.removeListener("error", onError);
      (client as pg.PoolClient).release(broken);
    }
  }
}

async function applyPending(client: pg.ClientBase): Promise<number[]> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS kai_schema_migrations (
      version     integer PRIMARY KEY,
      description text NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now()
    )`);
  const { rows } = await client.query<{ version: number }>("SELECT version FROM kai_schema_migrations");
  const applied = new Set(rows.map((row) => Number(row.version)));
  const newest = Math.max(0, ...applied);
  if (newest > PG_LATEST_VERSION) {
    throw new Error(`database schema version ${newest} is newer than this server supports (${PG_LATEST_VERSION}); upgrade the server`);
  }
  const done: number[] = [];
  for (const migration of PG_MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    await client.query("BEGIN");
    try {
      await client.query(migration.sql);
      await client.query("INSERT INTO kai_schema_migrations (version, description) VALUES ($1, $2)", [migration.version, migration.description]);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
    done.push(migration.version);
  }
  return done;
}
