/**
 * The A2A push store's conformance suite (push-store-contract.ts) on every backend (test/helpers/storage-backends.ts):
 * memory, SQLite and a real PostgreSQL, the durable ones reopened.
 */
import { storageBackends } from "../../helpers/storage-backends.js";
import { runPushStoreContract, runPushStoreDurability } from "./push-store-contract.js";

for (const backend of await storageBackends("push")) {
  runPushStoreContract(backend.label, backend.open);
  if (backend.durable) {
    runPushStoreDurability(backend.label, async () => {
      const opened = await backend.open();
      if (!opened.reopen) throw new Error(`${backend.label} is durable but cannot be reopened`);
      return { ...opened, reopen: opened.reopen };
    });
  }
}
