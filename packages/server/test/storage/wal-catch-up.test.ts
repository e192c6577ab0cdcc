/**
 * The WAL starts again from its beginning under a steady stream of writes (background-checkpointer.ts, "Catching
 * up"). A checkpoint running beside the writes copies the frames there were when it started, so it never reaches
 * the last one while commits go on, and SQLite only rewinds the WAL after a checkpoint that did: the file grew with
 * every commit. Now the store holds its writes for a moment and a second checkpoint copies the rest.
 * On real SQLite files: the write batcher's hold (writes queued meanwhile wait, then commit in order), the
 * checkpointer's catch-up beside a connection writing all the time, and the store under continuous registrations.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../src/storage/sqlite/open-database.js";
import { migrate } from "../../src/storage/sqlite/migrations.js";
import { WriteBatcher } from "../../src/storage/sqlite/write-batcher.js";
import { BackgroundCheckpointer, type CheckpointStats } from "../../src/storage/sqlite/background-checkpointer.js";
import { openStore } from "../../src/storage/index.js";
import { draft, registered } from "./__fixtures__/records.js";
import { tempDirs } from "../helpers/temp-dirs.js";

const tempDir = tempDirs("kai-wal-catch-up-");

const walBytes = async (path: string) => (await stat(`${path}-wal`)).size;
/** How many times the WAL was started over: the "checkpoint sequence number" of its header (big-endian, bytes 12-15). */
const walRewinds = async (path: string) => (await readFile(`${path}-wal`)).readUInt32BE(12);

describe("the write batcher's hold", () => {
  it("starts at once when idle, keeps queued writes waiting until it settles, then commits them in order", async () => {
    const db = openDatabase({ path: join(await tempDir(), "db.sqlite"), synchronous: "full" });
    // The batcher prepares the registry's write statements, so it needs the node's schema.
    migrate(db);
    db.exec("CREATE TABLE t (n INTEGER)");
    const insert = db.prepare("INSERT INTO t (n) VALUES (?)");
    const rows = () => (db.prepare("SELECT n FROM t ORDER BY rowid").all() as Array<{ n: number }>).map((row) => row.n);
    const writes = new WriteBatcher(db, { seal: () => undefined, committed: () => {}, rolledBack: () => {} });

    let release!: () => void;
    let started = false;
    expect(
      writes.holdWrites(() => {
        started = true;
        return new Promise<void>((resolve) => (release = resolve));
      }),
    ).toBe(true);
    expect(started).toBe(true);
    // One hold at a time.
    expect(writes.holdWrites(() => Promise.resolve())).toBe(false);

    const committed: number[] = [];
    const first = writes.enqueue(() => void insert.run(1), { rerunnable: true }).then(() => committed.push(1));
    const second = writes.enqueue(() => void insert.run(2), { rerunnable: true }).then(() => committed.push(2));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(rows()).toEqual([]);
    expect(committed).toEqual([]);

    release();
    await Promise.all([first, second]);
    expect(rows()).toEqual([1, 2]);
    expect(committed).toEqual([1, 2]);
    // Released: the next hold is taken again.
    expect(writes.holdWrites(() => Promise.resolve())).toBe(true);
    await writes.drain();
    db.close();
  });
});

describe("catching up with a WAL that is written all the time", () => {
  /**
   * 3,000 one-page writes, one per turn of the event loop after ~0.1 ms of other work (a busy node's commits, with no
   * pause for a checkpoint to land in; writes that outrun the checkpointer, as a bulk load's do, are not held: see
   * CATCH_UP_TAIL_FRAMES), beside a checkpointer every 10 ms.
   */
  async function writeBesideCheckpointer(): Promise<{ walBytes: number; rewinds: number; seen: CheckpointStats[]; rows: number }> {
    const path = join(await tempDir(), "kai.db");
    // Only the checkpointer may copy frames back: no automatic checkpoint on the writing connection.
    const db = openDatabase({ path, synchronous: "normal", autoCheckpointPages: 0 });
    db.exec("CREATE TABLE t (v TEXT)");
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    const row = "x".repeat(3000);
    let held: Promise<void> | null = null;
    const seen: CheckpointStats[] = [];
    const checkpointer = new BackgroundCheckpointer({
      path,
      intervalMs: 10,
      catchUpFrames: 200,
      holdWrites: (work: () => Promise<void>) => void (held = work().finally(() => (held = null))),
      onCheckpoint: (stats) => seen.push(stats),
    });
    // The thread is up (its first checkpoint came) before the writes start: what it does, not how fast it starts.
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 0; i < 3000; i++) {
      if (held) await held;
      insert.run(row);
      const busyUntil = performance.now() + 0.1;
      while (performance.now() < busyUntil);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await checkpointer.stop();
    const bytes = await walBytes(path);
    const rewinds = await walRewinds(path);
    const rows = (db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n;
    db.close();
    return { walBytes: bytes, rewinds, seen, rows };
  }

  it("rewinds the WAL: the checkpointer holds the writes, copies the rest, and the next write starts the file over", async () => {
    const caughtUp = await writeBesideCheckpointer();
    expect(caughtUp.rows).toBe(3000);
    const catchUps = caughtUp.seen.filter((stats) => stats.catchUp);
    expect(catchUps.length, JSON.stringify(caughtUp.seen)).toBeGreaterThanOrEqual(2);
    // Each catch-up copied everything there was: nothing was written while it ran.
    for (const stats of catchUps) expect(stats.checkpointed).toBe(stats.log);
    // It started over after them, again and again.
    expect(caughtUp.rewinds, JSON.stringify(caughtUp.seen)).toBeGreaterThanOrEqual(3);
    // So the file never held more than a part of the writes: each commit writes at least one frame (a page and its
    // 24-byte header), and a WAL never started over would have grown to 3,000 of them. Not compared with a run without
    // the hold: that one starts over whenever a checkpoint happens to land in a pause of the writer, which on a
    // loaded machine (the writer descheduled) is often, and on a quiet one almost never.
    const pageSize = 4096;
    expect(caughtUp.walBytes).toBeLessThan((3000 * (pageSize + 24)) / 2);
  });
});

describe("the store under continuous registrations", () => {
  it("starts its WAL over again and again", async () => {
    const path = join(await tempDir(), "kai.db");
    const store = await openStore({ kind: "sqlite", path, checkpointIntervalMs: 20, synchronous: "normal" });
    // 8 in flight, as requests arrive on a busy node: the batcher always has a transaction going. Written until the WAL
    // started over three times, not a fixed number of writes: 2,500 took 0.3 s on a quiet machine, a dozen checkpoint
    // ticks, and then now and then only two rewinds. A checkpoint beside the writes alone almost never lets it start
    // over, so without the catch-ups this runs into the deadline instead.
    let next = 0;
    const deadline = Date.now() + 20_000;
    let rewinds = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (rewinds < 3 && Date.now() < deadline) {
          await store.writeService(registered(draft(`svc-${next++}`)));
          if (next % 100 === 0) rewinds = await walRewinds(path);
        }
      }),
    );
    expect(await walRewinds(path)).toBeGreaterThanOrEqual(3);
    const page = await store.listServices({ filter: {}, viewer: { owner: "x", admin: true }, limit: 10 });
    expect(page.services).toHaveLength(10);
    await store.close();
  });
});
