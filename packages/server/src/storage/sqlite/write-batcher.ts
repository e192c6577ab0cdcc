/**
 * @module storage/sqlite/write-batcher
 * Group commit. Writes issued close together (before the next `setImmediate`) run in ONE transaction,
 * so that one fsync (synchronous=FULL) acknowledges many writes. Each write runs inside its own
 * SAVEPOINT: a write that throws (e.g. a revision conflict) is rolled back alone and rejects alone,
 * while the others in the batch commit. Promises settle only after COMMIT returned, i.e. once durable.
 * Writes run in the order they were enqueued, which is what keeps revisions in call order.
 *
 * Savepoints cost about a tenth of a registration's write time, and writes almost never fail. So a batch
 * whose writes are all *re-runnable* (their only effect outside SQLite is state the `rolledBack` hook
 * resets) runs without savepoints first; if any of them throws, the whole transaction is rolled back and
 * the batch runs again, this time with a savepoint per write. Writes that are not re-runnable (the vault's,
 * which keep counters in memory) always get their savepoint.
 *
 * Under load the batch waits a little for company (like PostgreSQL's commit_delay): every commit
 * writes each touched B-tree page to the WAL once, so one commit of 50 registrations costs far less than
 * 50 commits of one. An idle store commits on the next turn of the event loop, with no added delay.
 */
import type { Database, Statement } from "better-sqlite3";

/** How long a batch may wait for more writes while the store is busy, ms. */
const COMMIT_DELAY_MS = 1;
/** The store counts as busy when the previous commit was this recent, ms, and held more than one write. */
const BUSY_WINDOW_MS = 5;

interface PendingWrite {
  run: () => unknown;
  rerunnable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export interface WriteBatcherHooks {
  /** Called after a batch committed (e.g. to publish an in-memory counter). */
  committed(): void;
  /** Called after a batch was rolled back as a whole (e.g. to reset that counter). */
  rolledBack(): void;
}

export class WriteBatcher {
  private queue: PendingWrite[] = [];
  private scheduled: { cancel(): void } | null = null;
  private lastCommitAt = 0;
  private lastBatchSize = 0;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly savepoint: Statement;
  private readonly release: Statement;
  private readonly rollbackTo: Statement;

  constructor(
    private readonly db: Database,
    private readonly hooks: WriteBatcherHooks,
  ) {
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commit = db.prepare("COMMIT");
    this.rollback = db.prepare("ROLLBACK");
    this.savepoint = db.prepare("SAVEPOINT write");
    this.release = db.prepare("RELEASE write");
    this.rollbackTo = db.prepare("ROLLBACK TO write");
  }

  /**
   * Queues `run` (synchronous SQLite work) for the next batch; resolves with its result after commit.
   * `rerunnable`: running it twice after a rollback is harmless (see the module comment).
   */
  enqueue<T>(run: () => T, options: { rerunnable?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, rerunnable: options.rerunnable ?? false, resolve: resolve as (value: unknown) => void, reject });
      // setImmediate runs after the current tick's promise jobs, so concurrent callers join this batch;
      // while busy, a short timer lets the requests still in flight on other sockets join it too.
      this.scheduled ??= this.schedule();
    });
  }

  private schedule(): { cancel(): void } {
    // A lone sequential writer makes batches of one: it never waits. Concurrent writers make bigger batches.
    if (this.lastBatchSize > 1 && performance.now() - this.lastCommitAt < BUSY_WINDOW_MS) {
      const timer = setTimeout(() => this.flush(), COMMIT_DELAY_MS);
      return { cancel: () => clearTimeout(timer) };
    }
    const immediate = setImmediate(() => this.flush());
    return { cancel: () => clearImmediate(immediate) };
  }

  /** Runs and commits everything queued now. Also used by `close()` so nothing queued is dropped. */
  flush(): void {
    this.scheduled?.cancel();
    this.scheduled = null;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    if (batch.every((write) => write.rerunnable) && this.commitWithoutSavepoints(batch)) return;
    this.commitWithSavepoints(batch);
  }

  /** The fast path: true when the batch committed; false when a write threw and the batch must run again. */
  private commitWithoutSavepoints(batch: PendingWrite[]): boolean {
    const values: unknown[] = [];
    try {
      this.begin.run();
    } catch (error) {
      for (const write of batch) write.reject(error);
      return true;
    }
    try {
      for (const write of batch) values.push(write.run());
      this.commit.run();
    } catch {
      // One write failed (or the commit did): undo everything and let the careful path sort out who failed.
      if (this.db.inTransaction) this.rollback.run();
      this.hooks.rolledBack();
      return false;
    }
    this.settle(batch, values.map((value) => ({ ok: true as const, value })));
    return true;
  }

  private commitWithSavepoints(batch: PendingWrite[]): void {
    const outcomes: Outcome[] = [];
    try {
      this.begin.run();
    } catch (error) {
      for (const write of batch) write.reject(error);
      return;
    }
    try {
      for (const write of batch) {
        this.savepoint.run();
        try {
          outcomes.push({ ok: true, value: write.run() });
          this.release.run();
        } catch (error) {
          // Undo only this write; ROLLBACK TO keeps the savepoint open, RELEASE pops it.
          this.rollbackTo.run();
          this.release.run();
          outcomes.push({ ok: false, error });
        }
      }
      this.commit.run();
    } catch (error) {
      // The transaction itself failed (disk full, I/O error): nothing of the batch is durable.
      if (this.db.inTransaction) this.rollback.run();
      this.hooks.rolledBack();
      for (const write of batch) write.reject(error);
      return;
    }
    this.settle(batch, outcomes);
  }

  private settle(batch: PendingWrite[], outcomes: Outcome[]): void {
    this.lastCommitAt = performance.now();
    this.lastBatchSize = batch.length;
    this.hooks.committed();
    batch.forEach((write, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) write.resolve(outcome.value);
      else write.reject(outcome?.error);
    });
  }
}
