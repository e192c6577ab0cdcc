/**
 * The identity store's conformance suite (identity-store-contract.ts) on every backend: memory, SQLite (a file on
 * disk, reopened for durability), and a real PostgreSQL that this file starts (test/helpers/postgres-server.ts),
 * where the races run across two backends on one database, as two instances of a node would.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { openStore } from "../../src/storage/index.js";
import { startPostgres } from "../helpers/postgres-server.js";
import { runIdentityStoreContract } from "./identity-store-contract.js";

runIdentityStoreContract("memory", async () => ({ backend: await openStore({ kind: "memory" }), cleanup: async () => undefined }), { durable: false });

runIdentityStoreContract(
  "sqlite",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "kai-identity-"));
    const path = join(dir, "kai.db");
    return {
      backend: await openStore({ kind: "sqlite", path }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
      reopen: () => openStore({ kind: "sqlite", path }),
    };
  },
  { durable: true },
);

const server = await startPostgres();
afterAll(async () => {
  await server?.stop();
});

if (server) {
  runIdentityStoreContract(
    "postgres (two instances on one database)",
    async () => {
      const url = await server.createDatabase("identity");
      const open = () => openStore({ kind: "postgres", url, poolSize: 3 });
      return { backend: await open(), cleanup: async () => undefined, reopen: open, twin: open };
    },
    { durable: true },
  );
}
