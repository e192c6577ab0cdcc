/**
 * @module storage/copy/erase-target
 * What `kai storage copy --force` does to a target that is not empty: it empties it completely, so the copy
 * always starts from a fresh database, and a copy that failed half-way is repaired by running it again with
 * `--force`. Why not merge into what is there: the store contracts cannot delete everything (the audit log
 * is append-only, tokens and settings have no delete), and a merge would mix two nodes' vaults and identities.
 *
 * - PostgreSQL: every table kAI's migrations create (and the migration record) is dropped in one transaction,
 *   under the migration lock; opening the store again creates them afresh. Other tables of the database are
 *   left alone. Refused while any other session is connected to the database (a running instance, a psql),
 *   because dropping tables under a running instance would lose what it writes next.
 * - SQLite: the database file and its WAL and shared-memory files are deleted, once no process has it open.
 * - memory: a new store is empty already.
 */
import { rmSync } from "node:fs";
import pg from "pg";
import { ApiError } from "../../errors.js";
import type { OpenStoreOptions, PostgresStoreConfig } from "../index.js";
import { clientConfigOf } from "../postgres/pg-config.js";
import { MIGRATION_LOCK, PG_MIGRATIONS } from "../postgres/pg-migrations.js";
import { maskUrl } from "./mask-url.js";
import { assertSqliteNotInUse } from "./sqlite-source.js";

/** The table kAI's PostgreSQL migration runner records applied versions in (pg-migrations.ts). */
const PG_MIGRATION_TABLE = "kai_schema_migrations";
/** How long the erase waits for sessions that are closing (the copy's own pool, just ended) to go away, ms. */
const SESSIONS_GONE_WITHIN_MS = 5_000;

/** Every table kAI's PostgreSQL migrations create, with the migration record (the test checks none is missed). */
export function kaiPostgresTables(): string[] {
  const names = new Set<string>([PG_MIGRATION_TABLE]);
  for (const migration of PG_MIGRATIONS) {
    for (const match of migration.sql.matchAll(/\bCREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"?([A-Za-z_][A-Za-z0-9_]*)"?/gi)) {
      names.add(match[1]!.toLowerCase());
    }
  }
  return [...names].sort();
}

/** Empties the target (see the module header). The target's store must be closed. */
export async function eraseTarget(target: OpenStoreOptions): Promise<void> {
  switch (target.kind) {
    case "sqlite":
      assertSqliteNotInUse(target.path);
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${target.path}${suffix}`, { force: true });
      return;
    case "postgres":
      await erasePostgres(target);
      return;
    case "memory":
      return;
  }
}

async function erasePostgres(target: PostgresStoreConfig): Promise<void> {
  // The backend's own connection settings (TLS, timeouts), under a name other sessions' lists show.
  const client = new pg.Client({ ...clientConfigOf(target), application_name: "kai storage copy --force" });
  // A connection the server ends while idle reports it as an event; unheard, it would crash the CLI. Queries
  // in flight still reject with the error, which is what this function reports.
  client.on("error", () => undefined);
  await client.connect();
  try {
    await waitForOtherSessions(client, target.url);
    await client.query("BEGIN");
    try {
      // The same lock the migration runner holds: no instance migrates (creates these tables) meanwhile.
      await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [MIGRATION_LOCK]);
      const quoted = kaiPostgresTables().map((name) => `"${name}"`);
      await client.query(`DROP TABLE IF EXISTS ${quoted.join(", ")} CASCADE`);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  } finally {
    await client.end();
  }
}

/** Refuses while other sessions use the database; sessions already closing (the copy's own pool) get a few seconds. */
async function waitForOtherSessions(client: pg.Client, url: string): Promise<void> {
  const deadline = Date.now() + SESSIONS_GONE_WITHIN_MS;
  for (;;) {
    const { rows } = await client.query<{ n: number; who: string | null }>(
      `SELECT count(*)::int AS n,
              string_agg(DISTINCT coalesce(nullif(application_name, ''), host(client_addr), 'local socket'), ', ') AS who
         FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    const row = rows[0];
    if (!row || row.n === 0) return;
    if (Date.now() > deadline) {
      throw new ApiError(
        "conflict",
        `${maskUrl(url)} has ${row.n} other open connection(s) (${row.who ?? "unknown"}): stop every kai instance using it before --force empties it`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
