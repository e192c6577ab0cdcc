/**
 * @module storage
 * Opens the configured storage backend: the one factory. Everything a backend provides is in `contracts/`
 * (`StorageBackend`: the node's store, the vault's, the federation's and sign-in's); adding a backend means one more `kind`
 * here and one folder that passes the contract suites (docs/contributing/add-storage-backend.md). PostgreSQL is
 * also `SharedStorage` (several instances of one node on one database; `isSharedStorage` tells).
 */
import type { StorageBackend } from "./contracts/storage-backend.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import { MemoryStore } from "./memory/memory-store.js";
import type { PostgresStoreConfig } from "./postgres/pg-config.js";

export type { PostgresStoreConfig } from "./postgres/pg-config.js";

export interface SqliteStoreConfig {
  kind: "sqlite";
  /** Database file; its directory is created if missing. */
  path: string;
  /** `full` (default): an acknowledged write survives power loss. `normal`: survives a process crash only. */
  synchronous?: "full" | "normal";
  logger?: { warn(msg: string): void };
  /** Background WAL checkpoint interval, ms; 0 = SQLite's inline automatic checkpoint. */
  checkpointIntervalMs?: number;
  /** Page size of a new database file, bytes. */
  pageSize?: number;
}

export interface MemoryStoreConfig {
  kind: "memory";
}

export type OpenStoreOptions = SqliteStoreConfig | PostgresStoreConfig | MemoryStoreConfig;

export async function openStore(options: OpenStoreOptions): Promise<StorageBackend> {
  switch (options.kind) {
    case "sqlite":
      return SqliteStore.open(options);
    case "postgres": {
      // Loaded only when configured: a single-process install on SQLite never loads the PostgreSQL client.
      const { PostgresStore } = await import("./postgres/pg-store.js");
      return PostgresStore.open(options);
    }
    case "memory":
      return new MemoryStore();
  }
}
