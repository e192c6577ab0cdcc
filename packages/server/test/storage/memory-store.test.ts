/** The in-memory backend passes the same conformance suite as SQLite. */
import { MemoryStore } from "../../src/storage/memory/memory-store.js";
import { runStoreContract } from "./store-contract.js";

runStoreContract("memory", async () => ({ store: new MemoryStore(), cleanup: async () => undefined }));
