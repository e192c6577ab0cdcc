/**
 * @module storage/sqlite/write-batcher
 * Group commit. Writes issued close together (before the next `setImmediate`) run in ONE transaction,
 * so that one fsync (synchronous=FULL) acknowledges many writes. Each write runs inside its own
 * SAVEPOINT: a write that throws (e.g. a revision conflict) is rolled back alone and rejects alone,
 * while the others in the batch commit. Promises settle only after COMMIT returned, i.e. once durable.
 * Writes run in the order they were enqueued, which is what keeps revisions in call order.
 */
import type { Database, Statement } from "better-sqlite3";

interface PendingWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface WriteBatcherHooks {
  /** Called after a batch committed (e.g. to publish an in-memory counter). */
  committed(): void;
  /** Called after a batch was rolled back as a whole (e.g. to reset that counter). */
  rolledBack(): void;
}

export class WriteBatcher {
  private queue: PendingWrite[] = [];
  private scheduled: NodeJS.Immediate | null = null;
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

  /** Queues `run` (synchronous SQLite work) for the next batch; resolves with its result after commit. */
  enqueue<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      // setImmediate runs after the current tick's promise jobs, so concurrent callers join this batch.
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Runs and commits everything queued now. Also used by `close()` so nothing queued is dropped. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
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
    this.hooks.committed();
    batch.forEach((write, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) write.resolve(outcome.value);
      else write.reject(outcome?.error);
    });
  }
}
