/**
 * The A2A push store's conformance suite (push-store-contract.ts) on every backend: memory, SQLite (a file on disk,
 * reopened for durability) and a real PostgreSQL started here (reopened too).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { openStore } from "../../../src/storage/index.js";
import { startPostgres } from "../../helpers/postgres-server.js";
import { runPushStoreContract, runPushStoreDurability } from "./push-store-contract.js";

runPushStoreContract("memory", async () => ({ backend: await openStore({ kind: "memory" }), cleanup: async () => undefined }));

const sqlite = async () => {
  const dir = await mkdtemp(join(tmpdir(), "kai-push-"));
  const path = join(dir, "kai.db");
  return { backend: await openStore({ kind: "sqlite", path }), cleanup: () => rm(dir, { recursive: true, force: true }), reopen: () => openStore({ kind: "sqlite", path }) };
};
runPushStoreContract("sqlite", sqlite);
runPushStoreDurability("sqlite", sqlite);

const server = await startPostgres();
afterAll(async () => {
  await server?.stop();
});

if (server) {
  let databases = 0;
  const postgres = async () => {
    const url = await server.createDatabase(`push${++databases}`);
    const open = () => openStore({ kind: "postgres", url, poolSize: 3 });
    return { backend: await open(), cleanup: async () => undefined, reopen: open };
  };
  runPushStoreContract("postgres", postgres);
  runPushStoreDurability("postgres", postgres);
}
