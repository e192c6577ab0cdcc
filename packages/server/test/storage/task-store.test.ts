/**
 * The task store's conformance suite (task-store-contract.ts) on every backend: memory, SQLite (a file on disk,
 * reopened for durability) and a real PostgreSQL started here (two instances on one database for the races).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { openStore } from "../../src/storage/index.js";
import { startPostgres } from "../helpers/postgres-server.js";
import { runTaskStoreContract } from "./task-store-contract.js";

runTaskStoreContract("memory", async () => ({ backend: await openStore({ kind: "memory" }), cleanup: async () => undefined }), { durable: false, instances: false, ordersWrites: true });

runTaskStoreContract("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kai-tasks-"));
  const path = join(dir, "kai.db");
  return { backend: await openStore({ kind: "sqlite", path }), cleanup: () => rm(dir, { recursive: true, force: true }), reopen: () => openStore({ kind: "sqlite", path }) };
}, { durable: true, instances: false, ordersWrites: true });

const server = await startPostgres();
afterAll(async () => {
  await server?.stop();
});

if (server) {
  runTaskStoreContract("postgres (two instances on one database)", async () => {
    const url = await server.createDatabase("tasks");
    const open = () => openStore({ kind: "postgres", url, poolSize: 3 });
    return { backend: await open(), cleanup: async () => undefined, reopen: open, twin: open };
  }, { durable: true, instances: true, ordersWrites: false });
}
