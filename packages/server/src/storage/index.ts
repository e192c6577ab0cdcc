/**
 * @module storage
 * Opens the configured storage backend. The rest of the server sees only `RegistryStore`; adding a backend
 * (PostgreSQL next) means one more `kind` here and one folder that passes `test/storage/store-contract.ts`.
 */
import type { RegistryStore } from "./store.js";
import type { VaultStore } from "./vault-store.js";
import type { FederationStore } from "./federation-store.js";
import { SqliteStore } from "./sqlite/sqlite-store.js";
import { MemoryStore } from "./memory/memory-store.js";

export * from "./store.js";
export type * from "./federation-store.js";

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

export type OpenStoreOptions = SqliteStoreConfig | MemoryStoreConfig;

/** A backend: the registry's store, plus the vault's and federation's stores over the same database (one file, one transaction log). */
export type StorageBackend = RegistryStore & { vaultStore(): VaultStore; federationStore(): FederationStore };

export async function openStore(options: OpenStoreOptions): Promise<StorageBackend> {
  switch (options.kind) {
    case "sqlite":
      return SqliteStore.open(options);
    case "memory":
      return new MemoryStore();
  }
}
