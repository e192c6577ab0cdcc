/**
 * What `kai storage copy --force` does to a target that is not empty (erase-target.ts): on PostgreSQL every
 * table kAI's migrations create is dropped (and nothing else), so the next open migrates a fresh schema; it
 * is refused while another session uses the database. On SQLite the files go, refused while a store has them open.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { eraseTarget, kaiPostgresTables } from "../../../src/storage/copy/erase-target.js";
import { migratePostgres, PG_MIGRATIONS } from "../../../src/storage/postgres/pg-migrations.js";
import { openStore } from "../../../src/storage/index.js";
import { startPostgres, testClient } from "../../helpers/postgres-server.js";

const server = await startPostgres();
afterAll(async () => {
  await server?.stop();
});

async function tablesOf(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1");
  return rows.map((row) => row.name);
}

describe.skipIf(!server)("erasing a PostgreSQL target", () => {
  it("drops exactly the tables kAI's migrations create, and the database migrates afresh afterwards", async () => {
    const url = await server!.createDatabase("erase");
    const client = testClient({ connectionString: url });
    await client.connect();
    try {
      await migratePostgres(client);
      await client.query("CREATE TABLE someone_elses (x int)");
      await client.query("INSERT INTO meta (key, value) VALUES ('registry.epoch', 'old')");
      // Every table a migration made is on the list (a new migration's table cannot be missed).
      expect((await tablesOf(client)).filter((name) => name !== "someone_elses")).toEqual(kaiPostgresTables());
      expect(kaiPostgresTables()).toContain("plugin_installs");
    } finally {
      await client.end();
    }

    await eraseTarget({ kind: "postgres", url });

    const after = testClient({ connectionString: url });
    await after.connect();
    try {
      expect(await tablesOf(after)).toEqual(["someone_elses"]);
      expect(await migratePostgres(after)).toEqual(PG_MIGRATIONS.map((migration) => migration.version));
      expect((await after.query("SELECT * FROM meta")).rows).toEqual([]);
    } finally {
      await after.end();
    }
  });

  it("is refused while another session is connected to the database", async () => {
    const url = await server!.createDatabase("erase");
    const other = testClient({ connectionString: url, application_name: "a running instance" });
    await other.connect();
    try {
      await migratePostgres(other);
      const error = await eraseTarget({ kind: "postgres", url }).catch((thrown: unknown) => thrown);
      expect(error).toMatchObject({ code: "conflict" });
      expect((error as Error).message).toContain("a running instance");
      expect(await tablesOf(other)).toContain("services");
    } finally {
      await other.end();
    }
  }, 20_000);
});

describe("erasing a SQLite target", () => {
  it("is refused while a store has the file open, and removes the database files once it is closed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kai-erase-"));
    try {
      const path = join(dir, "kai.db");
      const store = await openStore({ kind: "sqlite", path });
      await store.setMeta("k", "v");
      await expect(eraseTarget({ kind: "sqlite", path })).rejects.toMatchObject({ code: "conflict" });
      await store.close();
      await eraseTarget({ kind: "sqlite", path });
      expect(existsSync(path)).toBe(false);
      const fresh = await openStore({ kind: "sqlite", path });
      expect(await fresh.getMeta("k")).toBeNull();
      await fresh.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
