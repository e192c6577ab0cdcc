/**
 * The group commit's short wait for company (storage/sqlite/commit-delay.ts): concurrent writers keep it, one
 * writer doing writes in a row does not pay it on every write. The batcher cases run on a real SQLite file.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { COMMIT_DELAY_MS, CommitDelayPolicy } from "../../src/storage/sqlite/commit-delay.js";
import { migrate } from "../../src/storage/sqlite/migrations.js";
import { openDatabase } from "../../src/storage/sqlite/open-database.js";
import { WriteBatcher } from "../../src/storage/sqlite/write-batcher.js";

describe("CommitDelayPolicy", () => {
  it("never waits after a batch of one or after a quiet spell", () => {
    const policy = new CommitDelayPolicy();
    policy.committed(1, 100);
    expect(policy.shouldWait(100.5)).toBe(false);
    policy.committed(40, 200);
    expect(policy.shouldWait(210)).toBe(false);
  });

  it("keeps waiting while writes join the waiting batches", () => {
    const policy = new CommitDelayPolicy();
    for (let i = 0; i < 50; i++) {
      policy.committed(30, i * 10);
      expect(policy.shouldWait(i * 10 + 1)).toBe(true);
      policy.waited(i % 2 === 0 ? 1 : 3);
    }
  });

  it("stops waiting when nothing joins, and probes now and then", () => {
    const policy = new CommitDelayPolicy();
    let waits = 0;
    for (let i = 0; i < 160; i++) {
      policy.committed(2, i * 10);
      if (policy.shouldWait(i * 10 + 1)) {
        waits++;
        policy.waited(0);
      }
    }
    // The first waits teach it (1 → 0.5 → 0.25), then one probe in every 16 busy batches.
    expect(waits).toBeGreaterThan(2);
    expect(waits).toBeLessThan(16);
  });

  it("waits again once a probe finds company", () => {
    const policy = new CommitDelayPolicy();
    policy.committed(2, 0);
    for (let i = 0; i < 3; i++) if (policy.shouldWait(1)) policy.waited(0);
    let probed = false;
    for (let i = 0; i < 16 && !probed; i++) probed = policy.shouldWait(1);
    expect(probed).toBe(true);
    policy.waited(5);
    expect(policy.shouldWait(1)).toBe(true);
  });
});

describe("WriteBatcher on SQLite", () => {
  const dirs: string[] = [];
  const open: Array<{ close(): void }> = [];
  // Fake clocks make "committed on the next turn or held for the 1 ms timer" exact; SQLite is real.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "performance"] });
  });
  afterEach(async () => {
    vi.useRealTimers();
    for (const db of open.splice(0)) db.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  async function batcher(): Promise<{ insert: (n: number) => Promise<void>; commits: () => number; rows: () => number }> {
    const dir = await mkdtemp(join(tmpdir(), "kai-commit-delay-"));
    dirs.push(dir);
    const db = openDatabase({ path: join(dir, "db.sqlite"), synchronous: "full" });
    // The batcher prepares the registry's write statements, so it needs the node's schema.
    migrate(db);
    open.push(db);
    db.exec("CREATE TABLE t (n INTEGER)");
    const statement = db.prepare("INSERT INTO t (n) VALUES (?)");
    let commits = 0;
    const writes = new WriteBatcher(db, { seal: () => undefined, committed: () => commits++, rolledBack: () => {} });
    return {
      insert: (n) => writes.enqueue(() => void statement.run(n), { rerunnable: true }),
      commits: () => commits,
      rows: () => (db.prepare("SELECT count(*) AS n FROM t").get() as { n: number }).n,
    };
  }

  /** Runs this turn's immediates (and nothing due later). */
  const endOfTurn = () => vi.advanceTimersByTimeAsync(0);

  it("a writer doing two writes and then one more no longer holds back each later write", async () => {
    const { insert, rows } = await batcher();
    const committedNextTurn: boolean[] = [];
    for (let round = 0; round < 8; round++) {
      // Two writes of one turn (a task's create with its first commit) make a "busy" batch of two...
      const pair = Promise.all([insert(1), insert(2)]);
      await endOfTurn();
      await pair;
      // ...then the same writer's next write, alone: committed at the end of its turn, or held for the timer?
      let done = false;
      const late = insert(3).then(() => (done = true));
      await endOfTurn();
      committedNextTurn.push(done);
      await vi.advanceTimersByTimeAsync(COMMIT_DELAY_MS);
      await late;
    }
    // The first waits teach the policy that nothing joins them; after that the lone write is not held back.
    expect(committedNextTurn.slice(0, 2)).toEqual([false, false]);
    expect(committedNextTurn.slice(-4)).toEqual([true, true, true, true]);
    expect(rows()).toBe(24);
  });

  it("writes arriving during the wait share its commit, and the wait stays", async () => {
    const { insert, commits, rows } = await batcher();
    const pair = Promise.all([insert(1), insert(2)]);
    await endOfTurn();
    await pair;
    for (let round = 0; round < 6; round++) {
      const before = commits();
      const first = insert(10);
      await endOfTurn();
      // Another writer's request, a turn later: it joins the waiting batch.
      const second = insert(11);
      await vi.advanceTimersByTimeAsync(COMMIT_DELAY_MS);
      await Promise.all([first, second]);
      expect(commits() - before).toBe(1);
    }
    expect(rows()).toBe(14);
  });
});
