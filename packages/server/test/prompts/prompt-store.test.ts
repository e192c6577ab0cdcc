/**
 * The prompt store's conformance suite (prompt-store-contract.ts) on every backend (test/helpers/storage-backends.ts):
 * memory, SQLite (reopened for durability) and a real PostgreSQL (two instances on one database for the races).
 */
import { storageBackends } from "../helpers/storage-backends.js";
import { runPromptStoreContract } from "./prompt-store-contract.js";

for (const backend of await storageBackends("prompts")) runPromptStoreContract(backend.label, backend.open, { durable: backend.durable });
