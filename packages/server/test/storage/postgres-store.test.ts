/**
 * The PostgreSQL backend passes the same NodeStore conformance suite as SQLite and memory, each test on a fresh
 * database of one real PostgreSQL server that this file starts (test/helpers/postgres-server.ts).
 */
import { afterAll } from "vitest";
import { openStore } from "../../src/storage/index.js";
import { startPostgres } from "../helpers/postgres-server.js";
import { runNodeStoreContract } from "./node-store-contract.js";

const server = await startPostgres();
afterAll(async () => {
  await server?.stop();
});

if (server) {
  runNodeStoreContract("postgres", async () => {
    const url = await server.createDatabase("contract");
    const store = await openStore({ kind: "postgres", url, poolSize: 3 });
    return { store, cleanup: async () => undefined };
  });
}
