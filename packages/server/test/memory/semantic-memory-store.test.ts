/**
 * The semantic memory row store's conformance suite (semantic-memory-store-contract.ts) on every backend
 * (test/helpers/storage-backends.ts): memory, SQLite (reopened for durability) and a real PostgreSQL (two instances on
 * one database for the races).
 */
import { storageBackends } from "../helpers/storage-backends.js";
import { runSemanticMemoryStoreContract } from "./semantic-memory-store-contract.js";

for (const backend of await storageBackends("memories")) runSemanticMemoryStoreContract(backend.label, backend.open, { durable: backend.durable, shared: backend.shared });
