/**
 * PostgreSQL migrations: applied once, versioned in kai_schema_migrations, safe when several instances start
 * at the same moment on an empty database, and refused when the database is newer than this code.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratePostgres, PG_LATEST_VERSION, PG_MIGRATIONS } from "../../src/storage/postgres/pg-migrations.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";

const server = await startPostgres();

describe.skipIf(!server)("PostgreSQL migrations", () => {
  let pg0: PostgresServer;
  beforeAll(() => {
    pg0 = server!;
  });
  afterAll(async () => {
    await pg0.stop();
  });

  it("two runs started at once on an empty database both succeed; each migration is applied exactly once", async () => {
    const url = await pg0.createDatabase("mig");
    const pools = [new pg.Pool({ connectionString: url, max: 2 }), new pg.Pool({ connectionString: url, max: 2 }), new pg.Pool({ connectionString: url, max: 2 })];
    // As the store's pool does: an idle connection's late error is an event, and unheard it fails the run.
    for (const pool of pools) pool.on("error", () => undefined);
    try {
      const results = await Promise.all(pools.map((pool) => migratePostgres(pool)));
      // Exactly one run applied everything; the others waited on the lock and found nothing to do.
      expect(results.map((applied) => applied.length).sort()).toEqual([0, 0, PG_MIGRATIONS.length]);
      const { rows } = await pools[0]!.query<{ version: number; description: string }>("SELECT version, description FROM kai_schema_migrations ORDER BY version");
      expect(rows.map((row) => row.version)).toEqual(PG_MIGRATIONS.map((migration) => migration.version));
      expect(rows[0]!.description).toBe(PG_MIGRATIONS[0]!.description);
      const state = await pools[0]!.query<{ key: string; value: string }>("SELECT key, value FROM store_state ORDER BY key");
      expect(state.rows).toEqual([
        { key: "events_compacted_through", value: "0" },
        { key: "revision", value: "0" },
      ]);
      // A later start applies nothing; the lock was released (this would wait forever otherwise).
      expect(await migratePostgres(pools[1]!)).toEqual([]);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it("runs on a client as well as on a pool", async () => {
    const url = await pg0.createDatabase("mig");
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => undefined);
    await client.connect();
    try {
      expect(await migratePostgres(client)).toEqual(PG_MIGRATIONS.map((migration) => migration.version));
      const tables = await client.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
      const names = tables.rows.map((row) => row.name);
      for (const table of ["services", "service_tags", "service_capabilities", "events", "store_state", "tokens", "meta", "federation_peers", "federation_imports", "cluster_members", "cluster_leader"]) {
        expect(names).toContain(table);
      }
    } finally {
      await client.end();
    }
  });

  it("refuses a database whose schema is newer than this server", async () => {
    const url = await pg0.createDatabase("mig");
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on("error", () => undefined);
    try {
      await migratePostgres(pool);
      await pool.query("INSERT INTO kai_schema_migrations (version, description) VALUES ($1, 'from the future')", [PG_LATEST_VERSION + 1]);
      await expect(migratePostgres(pool)).rejects.toThrow(/newer than this server supports/);
      // The failed run left the lock free.
      await pool.query("DELETE FROM kai_schema_migrations WHERE version = $1", [PG_LATEST_VERSION + 1]);
      expect(await migratePostgres(pool)).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});
