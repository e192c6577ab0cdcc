/** The in-memory backend passes the same conformance suite as SQLite. */
import { MemoryStore } from "../../src/storage/memory/memory-store.js";
import { runNodeStoreContract } from "./node-store-contract.js";

runNodeStoreContract("memory", async () => ({ store: new MemoryStore(), cleanup: async () => undefined }));
