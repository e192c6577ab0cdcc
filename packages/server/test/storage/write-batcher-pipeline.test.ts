/**
 * The write batcher's pipelining (storage/sqlite/write-batcher.ts): while the writer thread commits a large
 * transaction, the next one is planned and handed over; when one fails, the one planned on top of it is planned
 * again and every write is still answered once, in order, with what its own transaction did. The executor here is
 * the batcher's side of the writer thread's protocol, held in the test's hands so that each transaction lands or
 * fails exactly when the test says; the real thread's side of it (refusing what was sent after a failure until
 * `resume`) is covered with a real thread in sqlite-writer-thread.test.ts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { migrate } from "../../src/storage/sqlite/migrations.js";
import { openDatabase } from "../../src/storage/sqlite/open-database.js";
import { type PlannedWriteExecutor, WriteBatcher } from "../../src/storage/sqlite/write-batcher.js";
import type { WriteOp, WriteSink } from "../../src/storage/sqlite/write-statements.js";

/** A transaction handed to the executor, which the test lands or fails. */
interface Handed {
  ops: WriteOp[];
  land(): void;
  fail(message: string): void;
}

/**
 * Holds every transaction until the test settles it. Like the writer thread, once one fails it refuses the ones
 * handed over before `resume()` (they were planned on top of it): landing one of those rejects it.
 */
class HeldExecutor implements PlannedWriteExecutor {
  readonly handed: Handed[] = [];
  resumes = 0;
  /** Index of the last transaction that failed, and of the first handed over after the resume that followed. */
  private failedAt = -1;
  private resumedAt = -1;

  run(ops: WriteOp[]): Promise<void> {
    const index = this.handed.length;
    return new Promise<void>((resolve, reject) => {
      this.handed.push({
        ops,
        land: () => (index > this.failedAt && index < this.resumedAt ? reject(new Error("not run: planned after a transaction that failed")) : resolve()),
        fail: (message) => {
          this.failedAt = index;
          this.resumedAt = Number.POSITIVE_INFINITY;
          reject(new Error(message));
        },
      });
    });
  }

  resume(): void {
    this.resumedAt = this.handed.length;
    this.resumes++;
  }
}

/** A planned write of `statements` statements that answers `label`; `refuse` makes its planning throw. */
function plannedWrite(label: string, statements: number, refuse = false): (sink: WriteSink) => string {
  return (sink) => {
    if (refuse) throw new Error(`${label} refused while planning`);
    for (let i = 0; i < statements; i++) sink(["deleteTag", 0, [label, i]]);
    return label;
  };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("write batcher pipelining", () => {
  const dirs: string[] = [];
  const open: Database[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) db.close();
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  async function setup(): Promise<{ batcher: WriteBatcher<number>; executor: HeldExecutor; hooks: string[] }> {
    const dir = await mkdtemp(join(tmpdir(), "kai-pipeline-"));
    dirs.push(dir);
    const db = openDatabase({ path: join(dir, "db.sqlite"), synchronous: "full" });
    migrate(db);
    open.push(db);
    const executor = new HeldExecutor();
    const hooks: string[] = [];
    let seals = 0;
    const batcher = new WriteBatcher<number>(
      db,
      {
        seal: () => ++seals,
        committed: (sealed) => hooks.push(`committed ${sealed}`),
        rolledBack: () => hooks.push("rolled back"),
      },
      executor,
    );
    return { batcher, executor, hooks };
  }

  /** Enqueues a planned write and records how it was answered. */
  function track(batcher: WriteBatcher<number>, answers: string[], label: string, statements: number, refuse = false): Promise<unknown> {
    return batcher.enqueue(plannedWrite(label, statements, refuse), { planned: true }).then(
      (value) => answers.push(`${String(value)} ok`),
      (error: unknown) => answers.push(`${label} failed: ${(error as Error).message}`),
    );
  }

  it("hands the next transaction over while a large one commits, and answers each in order", async () => {
    const { batcher, executor, hooks } = await setup();
    const answers: string[] = [];
    const done = [track(batcher, answers, "big", 1000)];
    await settle();
    expect(executor.handed).toHaveLength(1);
    done.push(track(batcher, answers, "next", 600), track(batcher, answers, "refused", 3, true));
    await settle();
    // Planned and handed over while the first is still being committed; the refusal waits for its transaction.
    expect(executor.handed).toHaveLength(2);
    expect(executor.handed[1]!.ops).toHaveLength(600);
    expect(answers).toEqual([]);
    done.push(track(batcher, answers, "third", 5));
    await settle();
    // Never more than two at once.
    expect(executor.handed).toHaveLength(2);
    executor.handed[0]!.land();
    await settle();
    expect(answers).toEqual(["big ok"]);
    // The second is large too: the third is handed over behind it.
    expect(executor.handed).toHaveLength(3);
    executor.handed[1]!.land();
    executor.handed[2]!.land();
    await Promise.all(done);
    expect(answers).toEqual(["big ok", "next ok", "refused failed: refused refused while planning", "third ok"]);
    expect(hooks).toEqual(["committed 1", "committed 2", "committed 3"]);
  });

  it("waits for a small transaction to land before planning the next (the writes queued meanwhile commit as one)", async () => {
    const { batcher, executor } = await setup();
    const answers: string[] = [];
    const first = track(batcher, answers, "small", 10);
    await settle();
    const later = [track(batcher, answers, "a", 4), track(batcher, answers, "b", 4)];
    await settle();
    expect(executor.handed).toHaveLength(1);
    executor.handed[0]!.land();
    await first;
    await settle();
    expect(executor.handed).toHaveLength(2);
    expect(executor.handed[1]!.ops).toHaveLength(8);
    executor.handed[1]!.land();
    await Promise.all(later);
    expect(answers).toEqual(["small ok", "a ok", "b ok"]);
  });

  it("when the transaction being committed fails, the one planned on top of it is planned again, and its writes retried alone", async () => {
    const { batcher, executor, hooks } = await setup();
    const answers: string[] = [];
    // Two writes in the first transaction: after its failure each is committed alone, so only the failing one fails.
    const done = [track(batcher, answers, "x", 300), track(batcher, answers, "y", 300)];
    await settle();
    done.push(track(batcher, answers, "z", 50), track(batcher, answers, "z-refused", 1, true));
    await settle();
    expect(executor.handed.map((handed) => handed.ops.length)).toEqual([600, 50]);
    executor.handed[0]!.fail("disk I/O error");
    await settle();
    expect(hooks).toEqual(["rolled back"]);
    expect(executor.resumes).toBe(1);
    // The thread refuses the second (sent before resume); that answer is ignored: it is planned again.
    executor.handed[1]!.land();
    await settle();
    // x alone, then (as x is small) nothing else until it lands.
    expect(executor.handed.slice(2).map((handed) => handed.ops.length)).toEqual([300]);
    executor.handed[2]!.fail("x cannot be written");
    await settle();
    executor.handed[3]!.land(); // y alone
    await settle();
    executor.handed[4]!.land(); // z planned again (with z-refused, refused again)
    await Promise.all(done);
    expect(executor.handed.map((handed) => handed.ops.length)).toEqual([600, 50, 300, 300, 50]);
    expect(answers).toEqual(["x failed: x cannot be written", "y ok", "z ok", "z-refused failed: z-refused refused while planning"]);
    expect(hooks).toEqual(["rolled back", "rolled back", "committed 4", "committed 5"]);
  });

  it("when the planned transaction fails after the first landed, the first stays committed and only the failing write fails", async () => {
    const { batcher, executor, hooks } = await setup();
    const answers: string[] = [];
    const done = [track(batcher, answers, "first", 800)];
    await settle();
    done.push(track(batcher, answers, "second", 20));
    await settle();
    executor.handed[0]!.land();
    await settle();
    executor.handed[1]!.fail("constraint failed");
    await Promise.all(done);
    expect(answers).toEqual(["first ok", "second failed: constraint failed"]);
    expect(hooks).toEqual(["committed 1", "rolled back"]);
  });

  it("drain waits for every transaction in flight, and a write on the main connection waits for them too", async () => {
    const { batcher, executor } = await setup();
    const answers: string[] = [];
    const done = [track(batcher, answers, "big", 1000)];
    await settle();
    done.push(track(batcher, answers, "next", 10));
    let localRan = false;
    const local = batcher.enqueue(() => (localRan = true), { rerunnable: true }).then(() => answers.push("local ok"));
    await settle();
    expect(executor.handed).toHaveLength(2);
    let drained = false;
    const draining = batcher.drain().then(() => (drained = true));
    await settle();
    expect(answers).toEqual([]);
    executor.handed[0]!.land();
    await settle();
    expect(drained).toBe(false);
    expect(localRan).toBe(false);
    expect(answers).toEqual(["big ok"]);
    executor.handed[1]!.land();
    await Promise.all([...done, local, draining]);
    expect(answers).toEqual(["big ok", "next ok", "local ok"]);
  });
});
