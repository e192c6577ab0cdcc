/**
 * WAL checkpoints off the event loop: the worker's connection copies committed WAL frames back into the
 * database file while the main connection's own automatic checkpoint is off, and the store shuts the
 * worker down on close with every write intact.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/storage/sqlite/open-database.js";
import { BackgroundCheckpointer, type CheckpointStats } from "../../src/storage/sqlite/background-checkpointer.js";
import { openStore } from "../../src/storage/index.js";
import { draft, registered } from "./__fixtures__/records.js";
import { tempDirs } from "../helpers/temp-dirs.js";

const tempDir = tempDirs("kai-ckpt-");

describe("background WAL checkpointer", () => {
  it("checkpoints frames that the writing connection leaves in the WAL", async () => {
    const path = join(await tempDir(), "kai.db");
    // No automatic checkpoint on the writer: only the worker can move frames back.
    const db = openDatabase({ path, synchronous: "full", autoCheckpointPages: 0 });
    db.exec("CREATE TABLE t (v TEXT)");
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run("x".repeat(200));
    })();
    const seen: CheckpointStats[] = [];
    const done = new Promise<CheckpointStats>((resolve) => {
      const checkpointer = new BackgroundCheckpointer({
        path,
        intervalMs: 20,
        onCheckpoint: (stats) => {
          seen.push(stats);
          if (stats.log > 0 && stats.checkpointed === stats.log) void checkpointer.stop().then(() => resolve(stats));
        },
      });
    });
    const stats = await done;
    expect(stats.log).toBeGreaterThan(50);
    // The main connection sees the same rows; nothing was lost by checkpointing from another thread.
    expect(db.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 2000 });
    db.close();
  });

  it("is stopped by the store's close, and every acknowledged write is there after reopening", async () => {
    const path = join(await tempDir(), "kai.db");
    const store = await openStore({ kind: "sqlite", path, checkpointIntervalMs: 10 });
    for (let i = 0; i < 50; i++) await store.writeService(registered(draft(`svc-${i}`)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.close();
    const again = await openStore({ kind: "sqlite", path, checkpointIntervalMs: 0 });
    const page = await again.listServices({ filter: {}, viewer: { owner: "x", admin: true }, limit: 100 });
    expect(page.services.map((service) => service.id).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `svc-${i}`).sort());
    await again.close();
  });
});
