/**
 * The artifact store's conformance suite (artifact-store-contract.ts) on every backend (test/helpers/storage-backends.ts):
 * memory, SQLite (reopened for durability) and a real PostgreSQL.
 */
import { storageBackends } from "../helpers/storage-backends.js";
import { runArtifactStoreContract } from "./artifact-store-contract.js";

for (const backend of await storageBackends("artifacts")) runArtifactStoreContract(backend.label, backend.open, { durable: backend.durable });
