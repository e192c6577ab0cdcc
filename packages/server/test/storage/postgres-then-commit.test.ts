// PostgreSQL group commit (issue 13): a batch's write and its COMMIT travel in one round trip (pg-database.ts
// `thenCommit`, which reaches into the pg driver's query object). This pins what that shortcut must keep doing on a
// real server, so a driver upgrade that breaks it fails here: the write commits, a failed write rolls the whole
// transaction back and leaves the connection usable, and a killed backend is StorageUnavailableError.
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startPostgres } from "../helpers/postgres-server.js";
import { PgDatabase } from "../../src/storage/postgres/pg-database.js";
import { StorageUnavailableError } from "../../src/storage/contracts/storage-errors.js";

const server = await startPostgres();
afterAll(async () => { await server?.stop(); });

describe.skipIf(!server)("thenCommit", () => {
  it("commits, rolls back on a failed write, reports connection loss", async () => {
    const pool = new pg.Pool({ connectionString: await server!.createDatabase(), max: 3 });
    // As the store's own pool does (pg-store.ts): the killed connection's socket may still report its loss after the
    // connection went back to the pool, which re-emits it; without a listener that is an uncaught error.
    pool.on("error", () => undefined);
    const db = new PgDatabase(pool);
    await db.query("CREATE TABLE t (id int PRIMARY KEY, v text)");
    const rows = await db.transaction(async (client, _first, thenCommit) => {
      await client.query("INSERT INTO t VALUES (1, 'a')");
      return thenCommit({ name: "ins", text: "INSERT INTO t VALUES ($1, $2) RETURNING id", values: [2, "b"] });
    });
    expect(rows).toEqual([{ id: 2 }]);
    // Same named statement again on a reused connection (already parsed).
    const again = await db.transaction(async (_c, _f, thenCommit) => thenCommit({ name: "ins", text: "INSERT INTO t VALUES ($1, $2) RETURNING id", values: [3, "c"] }));
    expect(again).toEqual([{ id: 3 }]);
    await expect(db.transaction(async (client, _f, thenCommit) => {
      await client.query("INSERT INTO t VALUES (10, 'x')");
      return thenCommit({ name: "ins", text: "INSERT INTO t VALUES ($1, $2) RETURNING id", values: [1, "dup"] });
    })).rejects.toThrow(/duplicate key/);
    expect((await db.query("SELECT id FROM t ORDER BY id")).map((r) => r.id)).toEqual([1, 2, 3]);
    // The connection is usable after the failure (not left in an aborted transaction).
    for (let i = 0; i < 5; i++) expect(await db.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    await expect(db.transaction(async (client, _f, thenCommit) => {
      const pid = (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
      await db.query("SELECT pg_terminate_backend($1)", [pid]);
      return thenCommit({ name: "ins", text: "INSERT INTO t VALUES ($1, $2) RETURNING id", values: [20, "z"] });
    })).rejects.toBeInstanceOf(StorageUnavailableError);
    expect((await db.query("SELECT id FROM t ORDER BY id")).map((r) => r.id)).toEqual([1, 2, 3]);
    await pool.end();
  });
});
