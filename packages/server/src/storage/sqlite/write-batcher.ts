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
 * *Planned* writes (service writes) do not touch the connection themselves: they hand their statements to
 * a sink. Without a writer thread the sink runs them at once, as above. With one (writer-thread.ts), a run
 * of consecutive planned writes is planned on the main thread and committed by the thread in one
 * transaction, while the event loop goes on serving requests; other writes wait for it, so only one
 * transaction is ever open and each is planned against everything committed before it. If the thread's
 * transaction fails, nothing of it was written, and its writes are committed again one by one so that only
 * the failing one rejects. Writes that arrive meanwhile form the next batch (group commit without a timer).
 *
 * A caller may also hold every write for a moment (`holdWrites`): the background checkpointer does, so that one
 * checkpoint catches up with the last frame written and the WAL starts again from its beginning
 * (background-checkpointer.ts). The hold starts when no transaction is open and writes queued meanwhile wait.
 *
 * Under load the batch waits a little for company (like PostgreSQL's commit_delay): every commit
 * writes each touched B-tree page to the WAL once, so one commit of 50 registrations costs far less than
 * 50 commits of one. An idle store, or one writer doing writes in a row, commits on the next turn of the
 * event loop with no added delay (commit-delay.ts decides).
 */
import type { Database, Statement } from "better-sqlite3";
import { COMMIT_DELAY_MS, CommitDelayPolicy } from "./commit-delay.js";
import { WRITE_SQL, type WriteOp, type WriteSink, type WriteStatementName } from "./write-statements.js";

interface PendingWrite {
  run: (sink: WriteSink) => unknown;
  rerunnable: boolean;
  planned: boolean;
  /** Retried alone after the thread's transaction it was part of failed. */
  solo?: boolean;
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

/** Commits planned statements elsewhere (the writer thread): resolves once committed, rejects if nothing was. */
export interface PlannedWriteExecutor {
  run(ops: WriteOp[]): Promise<void>;
}

export interface EnqueueOptions {
  /** Running it twice after a rollback is harmless (see the module comment). */
  rerunnable?: boolean;
  /** It writes only through the sink it is given (and is re-runnable); see the module comment. */
  planned?: boolean;
}

export class WriteBatcher {
  private queue: PendingWrite[] = [];
  private scheduled: { cancel(): void } | null = null;
  /** Set while the writer thread holds a transaction of ours, or a hold runs; nothing else is started meanwhile. */
  private inFlight: Promise<void> | null = null;
  /** A hold asked for while a transaction was in flight: it runs before the next batch. */
  private heldWork: (() => Promise<void>) | null = null;
  /** True while a hold runs. */
  private holding = false;
  private readonly delay = new CommitDelayPolicy();
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly savepoint: Statement;
  private readonly release: Statement;
  private readonly rollbackTo: Statement;
  private readonly statements: Record<WriteStatementName, Statement[]>;
  /** Runs planned statements on this connection, inside the current transaction. */
  private readonly runNow: WriteSink;

  constructor(
    private readonly db: Database,
    private readonly hooks: WriteBatcherHooks,
    private readonly executor: PlannedWriteExecutor | null = null,
  ) {
    this.begin = db.prepare("BEGIN IMMEDIATE");
    this.commit = db.prepare("COMMIT");
    this.rollback = db.prepare("ROLLBACK");
    this.savepoint = db.prepare("SAVEPOINT write");
    this.release = db.prepare("RELEASE write");
    this.rollbackTo = db.prepare("ROLLBACK TO write");
    const prepared = {} as Record<WriteStatementName, Statement[]>;
    for (const name of Object.keys(WRITE_SQL) as WriteStatementName[]) prepared[name] = WRITE_SQL[name].map((sql) => db.prepare(sql));
    this.statements = prepared;
    this.runNow = ([name, variant, params]) => {
      this.statements[name][variant]!.run(params);
    };
  }

  /**
   * Queues `run` (synchronous SQLite work) for the next batch; resolves with its result after commit.
   * `rerunnable`: running it twice after a rollback is harmless (see the module comment).
   */
  enqueue<T>(run: (sink: WriteSink) => T, options: EnqueueOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const planned = options.planned ?? false;
      this.queue.push({ run, rerunnable: planned || (options.rerunnable ?? false), planned, resolve: resolve as (value: unknown) => void, reject });
      // setImmediate runs after the current tick's promise jobs, so concurrent callers join this batch;
      // while busy, a short timer lets the requests still in flight on other sockets join it too.
      this.scheduled ??= this.schedule();
    });
  }

  private schedule(): { cancel(): void } {
    if (!this.delay.shouldWait(performance.now())) return this.scheduleNow();
    // What is queued when this turn ends would have joined without the wait; only what comes later is its gain.
    let queuedAfterTurn: number | undefined;
    const turnEnd = setImmediate(() => (queuedAfterTurn = this.queue.length));
    const timer = setTimeout(() => {
      if (queuedAfterTurn !== undefined) this.delay.waited(this.queue.length - queuedAfterTurn);
      this.flush();
    }, COMMIT_DELAY_MS);
    return {
      cancel: () => {
        clearImmediate(turnEnd);
        clearTimeout(timer);
      },
    };
  }

  private scheduleNow(): { cancel(): void } {
    const immediate = setImmediate(() => this.flush());
    return { cancel: () => clearImmediate(immediate) };
  }

  /**
   * Runs and commits everything queued now (what the writer thread commits, it commits asynchronously).
   * While the writer thread holds a transaction this does nothing: the queue is taken up when it is done.
   */
  flush(): void {
    this.scheduled?.cancel();
    this.scheduled = null;
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.process(batch);
  }

  /**
   * Runs `work` once no transaction is open (at once when idle, else when the writer thread's transaction ends),
   * and starts none until it settles: writes queued meanwhile wait, then commit in their order. For work that
   * needs the database to stand still, briefly: `work` must settle on its own, and soon. One hold at a time; a
   * second asked for while one waits or runs is ignored (false).
   */
  holdWrites(work: () => Promise<void>): boolean {
    if (this.heldWork !== null || this.holding) return false;
    this.heldWork = work;
    if (this.inFlight === null) this.startHold();
    return true;
  }

  private startHold(): void {
    const work = this.heldWork!;
    this.heldWork = null;
    this.holding = true;
    let finished!: () => void;
    this.inFlight = new Promise<void>((resolve) => (finished = resolve));
    const resume = () => {
      this.holding = false;
      this.continueAfter([], finished);
    };
    let running: Promise<void>;
    try {
      running = work();
    } catch {
      running = Promise.resolve();
    }
    running.then(resume, resume);
  }

  /** Commits everything queued, including what arrives while doing so (used by `close()`). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.inFlight) await this.inFlight;
      else if (this.queue.length > 0) this.flush();
      else return;
    }
  }

  private remote(write: PendingWrite): boolean {
    return this.executor !== null && write.planned;
  }

  /** Commits `batch` in order: runs of planned writes go to the writer thread, the rest runs here. */
  private process(batch: PendingWrite[]): void {
    let start = 0;
    while (start < batch.length) {
      const remote = this.remote(batch[start]!);
      let end = start + 1;
      // A write being retried alone after its batch failed in the thread (`solo`) is a batch of its own.
      if (!(remote && batch[start]!.solo)) while (end < batch.length && this.remote(batch[end]!) === remote && !batch[end]!.solo) end++;
      const segment = batch.slice(start, end);
      if (remote) {
        this.dispatch(segment, batch.slice(end));
        return;
      }
      if (!(segment.every((write) => write.rerunnable) && this.commitWithoutSavepoints(segment))) this.commitWithSavepoints(segment);
      start = end;
    }
  }

  /**
   * Plans `segment` here and hands it to the writer thread; `rest` (and whatever queues up meanwhile) follows
   * once it is done. Planning runs against everything committed so far, as nothing else is in flight.
   */
  private dispatch(segment: PendingWrite[], rest: PendingWrite[]): void {
    const ops: WriteOp[] = [];
    const sink: WriteSink = (op) => {
      ops.push(op);
    };
    const planned: PendingWrite[] = [];
    const values: unknown[] = [];
    for (const write of segment) {
      const mark = ops.length;
      try {
        values.push(write.run(sink));
        planned.push(write);
      } catch (error) {
        // Refused while planning (e.g. a revision conflict): it wrote nothing, so it leaves no statement.
        ops.length = mark;
        write.reject(error);
      }
    }
    if (planned.length === 0) {
      this.hooks.committed();
      this.process(rest);
      return;
    }
    let finished!: () => void;
    this.inFlight = new Promise<void>((resolve) => (finished = resolve));
    this.executor!.run(ops).then(
      () => {
        this.settle(planned, values.map((value) => ({ ok: true as const, value })));
        this.continueAfter(rest, finished);
      },
      (error: unknown) => {
        this.hooks.rolledBack();
        if (planned.length === 1) {
          planned[0]!.reject(error);
          this.continueAfter(rest, finished);
          return;
        }
        // Nothing was written; commit each write alone so that only the one that fails is rejected.
        for (const write of planned) write.solo = true;
        this.continueAfter(planned.concat(rest), finished);
      },
    );
  }

  /**
   * After the thread's transaction: goes on at once, in this same callback, with what was left and what
   * queued up meanwhile. The answers of the batch just settled run as promise jobs after it, so the thread
   * already has its next transaction while this loop writes them out.
   */
  private continueAfter(rest: PendingWrite[], finished: () => void): void {
    this.inFlight = null;
    finished();
    this.scheduled?.cancel();
    this.scheduled = null;
    const next = rest.concat(this.queue);
    this.queue = [];
    if (this.heldWork !== null) {
      this.queue = next;
      this.startHold();
      return;
    }
    this.process(next);
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
      for (const write of batch) values.push(write.run(this.runNow));
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
          outcomes.push({ ok: true, value: write.run(this.runNow) });
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
    this.delay.committed(batch.length, performance.now());
    this.hooks.committed();
    batch.forEach((write, index) => {
      const outcome = outcomes[index];
      if (outcome?.ok) write.resolve(outcome.value);
      else write.reject(outcome?.error);
    });
  }
}
