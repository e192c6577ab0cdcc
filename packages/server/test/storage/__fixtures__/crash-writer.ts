/**
 * Child process of the crash test: writes services as fast as it can, 32 in flight, and prints
 * `ack <id>` for each write only after its promise resolved (i.e. the store acknowledged it).
 * The test kills it with SIGKILL and checks that every printed id is in the database.
 * Usage: node --import tsx crash-writer.ts <db-path> <full|normal>
 */
import { openStore } from "../../../src/storage/index.js";
import { draft, registered } from "./records.js";

const [path, mode] = process.argv.slice(2);
if (!path || (mode !== "full" && mode !== "normal")) throw new Error("usage: crash-writer.ts <db-path> <full|normal>");

const store = await openStore({ kind: "sqlite", path, synchronous: mode });
let next = 0;
async function worker(): Promise<void> {
  for (;;) {
    const id = `crash-${next++}`;
    await store.writeService(registered(draft(id, { tags: ["crash"], capabilities: ["llm_chat"], metadata: { padding: "x".repeat(400) } })));
    process.stdout.write(`ack ${id}\n`);
  }
}
await Promise.all(Array.from({ length: 32 }, () => worker()));
