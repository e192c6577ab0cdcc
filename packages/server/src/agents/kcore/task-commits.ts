/**
 * @module agents/kcore/task-commits
 * Group commit of kCore's task changes (the benchmark's largest cost was one store write, one whole-task copy and,
 * with SQLite, one fsync wait per change). Each task runner has a `TaskCommitter`; a change is a set of events
 * announcing what the runner just did to its record. Changes of one task queue up while its previous write is in
 * flight and go out together; changes of every task made in one turn of the event loop go to the store in ONE
 * `commitTasks` call (one transaction and one flush where the backend can).
 *
 * What is written is the runner's record as it is when the batch leaves (not a copy made at each change): every
 * change is made to the record and committed in the same synchronous run, so at that moment the record holds
 * exactly the changes its queued events announce; the store reads it during the call (its contract), so no copy
 * is made here at all. Its stored text is made here as the batch leaves (task-document.ts: the plan and the finished
 * step runs are not serialised again at every write). Guarantees kept: a task's writes reach the store one after
 * another in order (never two in flight), its events are published only once stored and in order, and each batch
 * entry is atomic on its own
 * (one refused task, e.g. fenced, fails alone). After a refused or failed write a task's committer stores nothing
 * more (what was queued behind it, and any later change, fails with the same error): a later write would store the
 * record without the events of the write that failed. The runner halts on the first failure anyway.
 */
import type { BusEvent } from "@kai/protocol";
import type { NewTaskEvent, TaskCommit, TaskCommitOutcome, TaskRecord, TaskStore } from "../../storage/contracts/task-store.js";
import { TaskDocument } from "./task-document.js";

/** Entries per `commitTasks` call: a batch larger than this is split (its parts still leave together). */
const MAX_BATCH = 256;

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** One store's batch of the tasks that changed in this turn of the event loop. */
class CommitBatcher {
  private pending: TaskCommitter[] = [];
  private scheduled = false;

  constructor(private readonly store: TaskStore) {}

  add(committer: TaskCommitter): void {
    this.pending.push(committer);
    if (this.scheduled) return;
    this.scheduled = true;
    // After the current turn's callbacks and promise jobs: every task that changed in this turn joins the batch.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let start = 0; start < all.length; start += MAX_BATCH) {
      const batch = all.slice(start, start + MAX_BATCH);
      const entries = batch.map((committer) => committer.take());
      let written: Promise<TaskCommitOutcome[]>;
      try {
        written = this.store.commitTasks(entries);
      } catch (error) {
        written = Promise.reject(error);
      }
      written.then(
        (outcomes) => batch.forEach((committer, index) => committer.settle(outcomes[index] ?? { ok: false, error: new Error("the store gave no outcome for this task") })),
        (error: unknown) => batch.forEach((committer) => committer.settle({ ok: false, error })),
      );
    }
  }
}

const batchers = new WeakMap<TaskStore, CommitBatcher>();

/** The batcher of `store`: one per store, shared by every task runner writing to it. */
function batcherOf(store: TaskStore): CommitBatcher {
  let batcher = batchers.get(store);
  if (!batcher) batchers.set(store, (batcher = new CommitBatcher(store)));
  return batcher;
}

export interface TaskCommitterOptions {
  /** The runner's live record (written as it is when the batch leaves). */
  record: TaskRecord;
  store: TaskStore;
  /** Called with a write's numbered events once it is stored, in order (the runner publishes them). */
  stored(events: BusEvent[]): void;
}

/** One task's queue of changes to store. */
export class TaskCommitter {
  private readonly batcher: CommitBatcher;
  /** The record's document, made without serialising again its plan and its finished runs. */
  private readonly document = new TaskDocument();
  private events: NewTaskEvent[] = [];
  private waiters: Waiter[] = [];
  private inBatch: Waiter[] | null = null;
  private queued = false;
  /** Set by the first write that failed: nothing is written after it. */
  private failure: { error: unknown } | null = null;

  constructor(private readonly options: TaskCommitterOptions) {
    this.batcher = batcherOf(options.store);
  }

  /** Queues `events` (announcing changes already made to the record); resolves once stored and handed to `stored`. */
  commit(events: readonly NewTaskEvent[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    this.events.push(...events);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.enqueue();
    return done;
  }

  private enqueue(): void {
    // One write of a task in flight at a time: what queues meanwhile leaves with the next batch after it.
    if (this.queued || this.inBatch !== null || this.waiters.length === 0) return;
    this.queued = true;
    this.batcher.add(this);
  }

  /** @internal the batcher's: this task's entry, as the record is now. */
  take(): TaskCommit {
    const entry = { record: this.options.record, events: this.events, doc: this.document.of(this.options.record) };
    this.events = [];
    this.inBatch = this.waiters;
    this.waiters = [];
    this.queued = false;
    return entry;
  }

  /** @internal the batcher's: the outcome of this task's entry. */
  settle(outcome: TaskCommitOutcome): void {
    const waiters = this.inBatch ?? [];
    this.inBatch = null;
    if (outcome.ok) {
      const task = this.options.record.task;
      task.lastSeq = Math.max(task.lastSeq, outcome.lastSeq);
      this.options.stored(outcome.events);
      for (const waiter of waiters) waiter.resolve();
    } else {
      this.failure = { error: outcome.error };
      const queued = this.waiters;
      this.waiters = [];
      this.events = [];
      for (const waiter of [...waiters, ...queued]) waiter.reject(outcome.error);
      return;
    }
    this.enqueue();
  }
}
