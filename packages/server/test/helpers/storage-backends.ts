/**
 * @module test/helpers/storage-backends
 * The backends a store's contract suite runs on, opened the same way for every suite: memory, SQLite (a file in a
 * fresh folder, reopenable) and a real PostgreSQL when the test setup could start one (a fresh database per opening,
 * reopenable, with a `twin`: a second instance on the same database, for races). The PostgreSQL server is the test
 * file's own, stopped after its tests.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { openStore } from "../../src/storage/index.js";
import type { StorageBackend } from "../../src/storage/contracts/storage-backend.js";
import { startPostgres } from "./postgres-server.js";

export interface OpenedBackend {
  backend: StorageBackend;
  cleanup: () => Promise<void>;
  /** The same data opened again (durable backends). */
  reopen?: () => Promise<StorageBackend>;
  /** A second instance on the same database (shared backends). */
  twin?: () => Promise<StorageBackend>;
}

export interface BackendUnderTest {
  label: "memory" | "sqlite" | "postgres";
  /** Keeps its data across a reopen. */
  durable: boolean;
  /** Several instances of a node may share it (`twin` opens a second one). */
  shared: boolean;
  open: () => Promise<OpenedBackend>;
}

/** Every backend this machine can run; `name` prefixes the folders and databases made for them. */
export async function storageBackends(name: string): Promise<BackendUnderTest[]> {
  const backends: BackendUnderTest[] = [
    { label: "memory", durable: false, shared: false, open: async () => ({ backend: await openStore({ kind: "memory" }), cleanup: async () => undefined }) },
    {
      label: "sqlite",
      durable: true,
      shared: false,
      open: async () => {
        const dir = await mkdtemp(join(tmpdir(), `kai-${name}-`));
        const path = join(dir, "kai.db");
        return { backend: await openStore({ kind: "sqlite", path }), cleanup: () => rm(dir, { recursive: true, force: true }), reopen: () => openStore({ kind: "sqlite", path }) };
      },
    },
  ];
  const server = await startPostgres();
  afterAll(async () => {
    await server?.stop();
  });
  if (server) {
    let databases = 0;
    backends.push({
      label: "postgres",
      durable: true,
      shared: true,
      open: async () => {
        const url = await server.createDatabase(`${name}${++databases}`);
        const open = () => openStore({ kind: "postgres", url, poolSize: 4 });
        return { backend: await open(), cleanup: async () => undefined, reopen: open, twin: open };
      },
    });
  }
  return backends;
}
