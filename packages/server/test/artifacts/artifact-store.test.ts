/**
 * The artifact store's conformance suite (artifact-store-contract.ts) on every backend: memory, SQLite (a file on
 * disk, reopened for durability) and a real PostgreSQL started here.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { openStore } from "../../src/storage/index.js";
import { startPostgres } from "../helpers/postgres-server.js";
import { runArtifactStoreContract } from "./artifact-store-contract.js";

runArtifactStoreContract("memory", async () => ({ backend: await openStore({ kind: "memory" }), cleanup: async () => undefined }), { durable: false });

runArtifactStoreContract("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kai-artifacts-"));
  const path = join(dir, "kai.db");
  return { backend: await openStore({ kind: "sqlite", path }), cleanup: () => rm(dir, { recursive: true, force: true }), reopen: () => openStore({ kind: "sqlite", path }) };
}, { durable: true });

const server = await startPostgres();
afterAll(async () => {
  await server?.stop();
});

if (server) {
  let databases = 0;
  runArtifactStoreContract("postgres", async () => {
    const url = await server.createDatabase(`artifacts${++databases}`);
    const open = () => openStore({ kind: "postgres", url, poolSize: 4 });
    return { backend: await open(), cleanup: async () => undefined, reopen: open };
  }, { durable: true });
}
