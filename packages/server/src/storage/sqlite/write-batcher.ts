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
 * transaction is ever open on the file. Writes that arrive meanwhile form the next batch (group commit without a
 * timer). While the thread commits a large transaction (a bulk registration's), the next one is planned and handed
 * over at once (pipelining: the thread goes from one COMMIT to the next BEGIN instead of waiting for the event
 * loop to plan), against everything committed and everything planned before it. If a thread's transaction fails,
 * nothing of it was written, the thread refuses the one planned after it, and that one is planned again; the
 * failed transaction's writes are committed again one by one so that only the failing one rejects. Every write is
 * answered when its own transaction lands, in order, refusals made while planning included (planned against a
 * transaction that then failed, they are planned again too).
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

/**
 * What the batcher tells the one store that keeps state outside SQLite (the service records: revisions, the seq of each id).
 * `Sealed` is that store's account of one transaction's changes, taken when the transaction's last write has been
 * run or planned, and handed back when (and only if) that transaction commits.
 */
export interface WriteBatcherHooks<Sealed> {
  /** Called once a transaction's writes are all run or planned: what it changed, for `committed`. */
  seal(): Sealed;
  /** Called after that transaction committed, in commit order. */
  committed(sealed: Sealed): void;
  /** Called after a transaction was rolled back as a whole, and with it every one planned after it. */
  rolledBack(): void;
}

/**
 * Commits planned statements elsewhere (the writer thread): resolves once committed, rejects if nothing was.
 * Transactions are committed in the order they are handed over. After one fails, the executor refuses (rejects)
 * every transaction handed over before `resume()`: they were planned on top of the one that failed.
 */
export interface PlannedWriteExecutor {
  run(ops: WriteOp[]): Promise<void>;
  resume(): void;
}

export interface EnqueueOptions {
  /** Running it twice after a rollback is harmless (see the module comment). */
  rerunnable?: boolean;
  /** It writes only through the sink it is given (and is re-runnable); see the module comment. */
  planned?: boolean;
}

/** A transaction handed to the writer thread, or planned to nothing while one was (`statements` 0). */
interface Flight<Sealed> {
  /** Its writes in order; `outcomes[i]` is what write i's planning returned, or why it refused. */
  writes: PendingWrite[];
  outcomes: Outcome[];
  statements: number;
  sealed: Sealed;
  /** Set when a transaction before it failed: it is planned again, and its own answer is ignored. */
  abandoned: boolean;
}

/** The writer thread holds at most this many transactions of ours: the one it commits and the next one, planned. */
const MAX_FLIGHTS = 2;
/**
 * The next transaction is planned while the thread commits one only when that one is at least this large: a bulk
 * registration's, whose commit takes the thread milliseconds (1000 services: ~5000 statements), time in which the
 * event loop can plan the next instead of waiting. Small transactions (one-by-one registrations under load) wait,
 * as before: what queues up meanwhile then commits as one, with one fsync, instead of as several small ones.
 */
const PIPELINE_MIN_STATEMENTS = 500;

export class WriteBatcher<Sealed = unknown> {
  private queue: PendingWrite[] = [];
  private scheduled: { cancel(): void } | null = null;
  /** The writer thread's transactions of ours, oldest (the one being committed) first; they land in this order. */
  private flights: Array<Flight<Sealed>> = [];
  /** A hold asked for while a transaction was in flight: it runs before the next batch. */
  private heldWork: (() => Promise<void>) | null = null;
  /** True while a hold runs. */
  private holding = false;
  /** Woken whenever a transaction lands or a hold ends (drain waits on it). */
  private landings: Array<() => void> = [];
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
    private readonly hooks: WriteBatcherHooks<Sealed>,
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
   * Runs and commits what can start now (what the writer thread commits, it commits asynchronously). While the
   * writer thread holds a transaction, only a next planned one may start (see `startable`); the rest of the queue
   * is taken up when it lands.
   */
  flush(): void {
    this.scheduled?.cancel();
    this.scheduled = null;
    this.pump();
  }

  /**
   * Runs `work` once no transaction is open (at once when idle, else when the writer thread's transactions end),
   * and starts none until it settles: writes queued meanwhile wait, then commit in their order. For work that
   * needs the database to stand still, briefly: `work` must settle on its own, and soon. One hold at a time; a
   * second asked for while one waits or runs is ignored (false).
   */
  holdWrites(work: () => Promise<void>): boolean {
    if (this.heldWork !== null || this.holding) return false;
    this.heldWork = work;
    if (this.flights.length === 0) this.startHold();
    return true;
  }

  private startHold(): void {
    const work = this.heldWork!;
    this.heldWork = null;
    this.holding = true;
    const resume = () => {
      this.holding = false;
      this.afterLanding();
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
      if (this.flights.length > 0 || this.holding) await new Promise<void>((resolve) => this.landings.push(resolve));
      else if (this.queue.length > 0) this.flush();
      else return;
    }
  }

  private remote(write: PendingWrite): boolean {
    return this.executor !== null && write.planned;
  }

  /**
   * Starts, in queue order, everything that may start now: runs of planned writes go to the writer thread (a
   * second transaction only while the first is large, see PIPELINE_MIN_STATEMENTS); the rest runs here, but only
   * while the thread holds nothing of ours, so that only one transaction is ever open on the file. A write retried
   * alone after its batch failed in the thread (`solo`) is a transaction of its own.
   */
  private pump(): void {
    while (this.queue.length > 0 && !this.holding) {
      if (this.heldWork !== null) {
        if (this.flights.length === 0) this.startHold();
        return;
      }
      const head = this.queue[0]!;
      const remote = this.remote(head);
      if (remote ? !this.startable() : this.flights.length > 0) return;
      let end = 1;
      if (!(remote && head.solo)) while (end < this.queue.length && this.remote(this.queue[end]!) === remote && !this.queue[end]!.solo) end++;
      const segment = end === this.queue.length ? this.queue : this.queue.slice(0, end);
      this.queue = end === this.queue.length ? [] : this.queue.slice(end);
      if (remote) this.dispatch(segment);
      else if (!(segment.every((write) => write.rerunnable) && this.commitWithoutSavepoints(segment))) this.commitWithSavepoints(segment);
    }
    if (this.heldWork !== null && this.flights.length === 0 && !this.holding) this.startHold();
  }

  /** Whether a transaction for the writer thread may be planned now. */
  private startable(): boolean {
    const last = this.flights.at(-1);
    return last === undefined || (this.flights.length < MAX_FLIGHTS && last.statements >= PIPELINE_MIN_STATEMENTS);
  }

  /**
   * Plans `segment` here and hands it to the writer thread. Planning runs against everything committed so far and
   * everything planned in the transaction still in flight (the store keeps those rows until it lands).
   */
  private dispatch(segment: PendingWrite[]): void {
    const ops: WriteOp[] = [];
    const sink: WriteSink = (op) => {
      ops.push(op);
    };
    const outcomes: Outcome[] = [];
    for (const write of segment) {
      const mark = ops.length;
      try {
        outcomes.push({ ok: true, value: write.run(sink) });
      } catch (error) {
        // Refused while planning (e.g. a revision conflict): it wrote nothing, so it leaves no statement. It is
        // answered with its transaction: had a transaction before it failed, it would be planned again.
        ops.length = mark;
        outcomes.push({ ok: false, error });
      }
    }
    const flight: Flight<Sealed> = { writes: segment, outcomes, statements: ops.length, sealed: this.hooks.seal(), abandoned: false };
    if (ops.length === 0) {
      // Nothing for the thread: answered now, or right after the transaction before it lands.
      if (this.flights.length === 0) this.settle(flight);
      else this.flights.push(flight);
      return;
    }
    this.flights.push(flight);
    this.executor!.run(ops).then(
      () => this.landed(flight),
      (error: unknown) => this.failed(flight, error),
    );
  }

  /**
   * The thread committed `flight` (the oldest in flight: it commits in order). Its writes are answered, so are the
   * planned-to-nothing ones right behind it, and what can start next starts, in this same callback: the thread
   * gets its next transaction while the answers just settled run as promise jobs after it.
   */
  private landed(flight: Flight<Sealed>): void {
    if (flight.abandoned) return;
    this.flights.shift();
    this.settle(flight);
    while (this.flights.length > 0 && this.flights[0]!.statements === 0) this.settle(this.flights.shift()!);
    this.afterLanding();
  }

  /**
   * `flight` was rolled back, and the thread refuses every transaction after it (planned on top of it), which are
   * planned again. Its own writes are committed again one by one, so that only the failing one rejects.
   */
  private failed(flight: Flight<Sealed>, error: unknown): void {
    if (flight.abandoned) return;
    const lost = this.flights;
    this.flights = [];
    for (const each of lost) each.abandoned = true;
    this.hooks.rolledBack();
    this.executor!.resume();
    const again: PendingWrite[] = [];
    const planned = flight.writes.filter((write, index) => {
      const outcome = flight.outcomes[index]!;
      // Refused against what had committed before it: that stands.
      if (!outcome.ok) write.reject(outcome.error);
      return outcome.ok;
    });
    if (planned.length === 1) planned[0]!.reject(error);
    else {
      for (const write of planned) write.solo = true;
      again.push(...planned);
    }
    for (const later of lost) if (later !== flight) again.push(...later.writes);
    this.queue = again.concat(this.queue);
    this.afterLanding();
  }

  /** After a transaction landed or failed, or a hold ended: wakes `drain` and starts what can start. */
  private afterLanding(): void {
    for (const wake of this.landings.splice(0)) wake();
    this.scheduled?.cancel();
    this.scheduled = null;
    this.pump();
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
    this.settleHere(batch, values.map((value) => ({ ok: true as const, value })));
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
    this.settleHere(batch, outcomes);
  }

  /** A batch committed on this connection. */
  private settleHere(writes: PendingWrite[], outcomes: Outcome[]): void {
    this.settle({ writes, outcomes, statements: 0, sealed: this.hooks.seal(), abandoned: false });
  }

  private settle(flight: Flight<Sealed>): void {
    this.delay.committed(flight.writes.length, performance.now());
    this.hooks.committed(flight.sealed);
    flight.writes.forEach((write, index) => {
      const outcome = flight.outcomes[index];
      if (outcome?.ok) write.resolve(outcome.value);
      else write.reject(outcome?.error);
    });
  }
}
