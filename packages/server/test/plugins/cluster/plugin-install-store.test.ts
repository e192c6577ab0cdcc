/**
 * The plugin install store's conformance suite (plugin-install-store-contract.ts) on every backend: memory, SQLite (a
 * file on disk, reopened for durability) and a real PostgreSQL (two instances on one database for the race).
 */
import { storageBackends } from "../../helpers/storage-backends.js";
import { runPluginInstallStoreContract } from "./plugin-install-store-contract.js";

for (const backend of await storageBackends("plugin-installs")) runPluginInstallStoreContract(backend.label, backend.open, { durable: backend.durable, shared: backend.shared });
