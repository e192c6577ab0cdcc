/**
 * @module storage/sqlite/sqlite-task-store
 * The SQLite backend of `TaskStore` (tables of migration 8), on the backend's connection. Reads run synchronously;
 * a create or a commit (the task's document, its state columns and its new events) is one atomic entry of the
 * backend's group-commit batches, so it resolves once durable and never half-written. The entry reads the task's
 * last sequence number inside itself, so events stay gap-free even if a batch is rolled back and run again.
 */
import type { Database, Statement } from "better-sqlite3";
import type { BusEvent, TaskState } from "@kai/protocol";
import { commitOutcomes, decodeStored, numberEvents, runnerOf, TaskFencedError, TaskMissingError, UNFINISHED_TASK_STATES, type NewTaskEvent, type PendingAnswer, type TaskCommit, type TaskCommitOutcome, type TaskListQuery, type TaskPage, type TaskRecord, type TaskStore } from "../contracts/task-store.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

/** Migration 8. `idem_key` is `<owner>\n<key>`: an idempotency key is the owner's own. Ids sort by creation time. */
export const TASK_SCHEMA = `
  CREATE TABLE tasks (
    id         TEXT PRIMARY KEY NOT NULL,
    owner      TEXT NOT NULL,
    state      TEXT NOT NULL,
    idem_key   TEXT UNIQUE,
    last_seq   INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    doc        TEXT NOT NULL
  );
  CREATE INDEX tasks_owner ON tasks (owner, id);
  -- Restart reads the unfinished ones only.
  CREATE INDEX tasks_unfinished ON tasks (id) WHERE state IN ('submitted', 'working', 'input-required');

  CREATE TABLE task_events (
    task_id TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    doc     TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
  ) WITHOUT ROWID;
`;

/**
 * Migration 9 (tasks on a node of many instances): the instance running each task, which alone may commit it, and
 * an answer left by any instance for that runner (agents/kcore/task-adoption.ts). One SQLite file is one process,
 * so here the runner only changes at a restart; the columns keep the backends alike.
 */
export const TASK_RUNNER_SCHEMA = `
  ALTER TABLE tasks ADD COLUMN runner TEXT;
  ALTER TABLE tasks ADD COLUMN answer TEXT;
`;

interface TaskRow {
  doc: string;
  last_seq: number;
  runner: string | null;
}

const decode = (row: TaskRow): TaskRecord => {
  const record = decodeStored<TaskRecord>(row.doc, "task");
  record.task.lastSeq = row.last_seq;
  // The column is the truth (an adoption changes it without rewriting the document).
  record.runner = row.runner;
  return record;
};

export class SqliteTaskStore implements TaskStore {
  /** Every write is an entry of the one write batcher, run in call order (see TaskStore.ordersWrites). */
  readonly ordersWrites = true;
  private readonly insertTask: Statement<[string, string, string, string | null, number, string, string, string | null]>;
  private readonly adopt: Statement<[string, string, string | null], TaskRow>;
  private readonly putAnswerRow: Statement<[string, string]>;
  private readonly takeAnswerRow: Statement<[string], { answer: string | null }>;
  private readonly clearAnswer: Statement<[string]>;
  private readonly selectByKey: Statement<[string], TaskRow>;
  private readonly selectTask: Statement<[string], TaskRow>;
  private readonly selectLastSeq: Statement<[string], { last_seq: number; runner: string | null }>;
  private readonly updateTask: Statement<[string, number, string, string, string]>;
  private readonly bumpSeq: Statement<[number, string]>;
  private readonly insertEvent: Statement<[string, number, string]>;
  private readonly selectEvents: Statement<[string, number, number], { doc: string }>;
  private readonly selectUnfinished: Statement<[], TaskRow>;
  private readonly db: Database;

  constructor(
    db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    this.db = db;
    this.insertTask = db.prepare("INSERT INTO tasks (id, owner, state, idem_key, last_seq, updated_at, doc, runner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    const unfinished = UNFINISHED_TASK_STATES.map((state) => `'${state}'`).join(", ");
    this.adopt = db.prepare(`UPDATE tasks SET runner = ? WHERE id = ? AND runner IS ? AND state IN (${unfinished}) RETURNING doc, last_seq, runner`);
    this.putAnswerRow = db.prepare("UPDATE tasks SET answer = ? WHERE id = ? AND state = 'input-required'");
    this.takeAnswerRow = db.prepare("SELECT answer FROM tasks WHERE id = ?");
    this.clearAnswer = db.prepare("UPDATE tasks SET answer = NULL WHERE id = ?");
    this.selectByKey = db.prepare("SELECT doc, last_seq, runner FROM tasks WHERE idem_key = ?");
    this.selectTask = db.prepare("SELECT doc, last_seq, runner FROM tasks WHERE id = ?");
    this.selectLastSeq = db.prepare("SELECT last_seq, runner FROM tasks WHERE id = ?");
    this.updateTask = db.prepare("UPDATE tasks SET state = ?, last_seq = ?, updated_at = ?, doc = ? WHERE id = ?");
    this.bumpSeq = db.prepare("UPDATE tasks SET last_seq = ? WHERE id = ?");
    this.insertEvent = db.prepare("INSERT INTO task_events (task_id, seq, doc) VALUES (?, ?, ?)");
    this.selectEvents = db.prepare("SELECT doc FROM task_events WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?");
    this.selectUnfinished = db.prepare(
      `SELECT doc, last_seq, runner FROM tasks WHERE state IN (${UNFINISHED_TASK_STATES.map((state) => `'${state}'`).join(", ")}) ORDER BY id`,
    );
  }

  createTask(record: TaskRecord, events: NewTaskEvent[], idempotencyKey?: string) {
    const key = idempotencyKey === undefined ? null : `${record.task.owner}\n${idempotencyKey}`;
    return this.hooks.enqueue(() => {
      const existing = key === null ? undefined : this.selectByKey.get(key);
      if (existing) return { record: decode(existing), created: false, events: [] as BusEvent[] };
      const numbered = numberEvents(record.task.id, events, 1);
      const stored: TaskRecord = { ...record, task: { ...record.task, lastSeq: numbered.length } };
      this.insertTask.run(stored.task.id, stored.task.owner, stored.task.state, key, numbered.length, stored.task.updatedAt, JSON.stringify(stored), runnerOf(stored));
      for (const event of numbered) this.insertEvent.run(stored.task.id, event.seq!, JSON.stringify(event));
      return { record: stored, created: true, events: numbered };
    });
  }

  async getTask(id: string) {
    this.hooks.assertOpen();
    const row = this.selectTask.get(id);
    return row ? decode(row) : null;
  }

  async listTasks(query: TaskListQuery): Promise<TaskPage> {
    this.hooks.assertOpen();
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.owner !== undefined) {
      where.push("owner = ?");
      values.push(query.owner);
    }
    if (query.states !== undefined) {
      where.push(`state IN (${query.states.map(() => "?").join(", ")})`);
      values.push(...(query.states as TaskState[]));
    }
    if (query.cursor !== undefined) {
      where.push("id < ?");
      values.push(query.cursor);
    }
    const sql = `SELECT doc, last_seq, runner FROM tasks ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
    const rows = this.db.prepare<unknown[], TaskRow>(sql).all(...values, query.limit + 1);
    const records = rows.slice(0, query.limit).map(decode);
    return { records, nextCursor: rows.length > query.limit ? records[records.length - 1]!.task.id : null };
  }

  commitTask(record: TaskRecord, events: NewTaskEvent[]) {
    return this.hooks.enqueue(() => {
      const current = this.selectLastSeq.get(record.task.id);
      if (!current) throw new TaskMissingError(record.task.id);
      if (current.runner !== runnerOf(record)) throw new TaskFencedError(record.task.id);
      const numbered = numberEvents(record.task.id, events, current.last_seq + 1);
      const lastSeq = current.last_seq + numbered.length;
      const stored: TaskRecord = { ...record, task: { ...record.task, lastSeq } };
      this.updateTask.run(stored.task.state, lastSeq, stored.task.updatedAt, JSON.stringify(stored), stored.task.id);
      for (const event of numbered) this.insertEvent.run(stored.task.id, event.seq!, JSON.stringify(event));
      return { record: stored, events: numbered };
    });
  }

  async unfinishedTasks() {
    this.hooks.assertOpen();
    return this.selectUnfinished.all().map(decode);
  }

  async unfinishedRunners() {
    this.hooks.assertOpen();
    const states = UNFINISHED_TASK_STATES.map((state) => `'${state}'`).join(", ");
    return this.db.prepare<[], { id: string; runner: string | null }>(`SELECT id, runner FROM tasks WHERE state IN (${states}) ORDER BY id`).all();
  }

  adoptTask(id: string, from: string | null, to: string) {
    return this.hooks.enqueue(() => {
      const row = this.adopt.get(to, id, from);
      return row ? decode(row) : null;
    });
  }

  putAnswer(id: string, answer: PendingAnswer) {
    return this.hooks.enqueue(() => this.putAnswerRow.run(JSON.stringify(answer), id).changes === 1);
  }

  takeAnswer(id: string) {
    return this.hooks.enqueue(() => {
      const row = this.takeAnswerRow.get(id);
      if (!row?.answer) return null;
      this.clearAnswer.run(id);
      return decodeStored<PendingAnswer>(row.answer, "task answer");
    });
  }

  append(taskId: string, event: NewTaskEvent): Promise<BusEvent> {
    return this.hooks.enqueue(() => {
      const current = this.selectLastSeq.get(taskId);
      if (!current) throw new TaskMissingError(taskId);
      const numbered: BusEvent = { ...event, taskId, seq: current.last_seq + 1 };
      this.bumpSeq.run(numbered.seq!, taskId);
      this.insertEvent.run(taskId, numbered.seq!, JSON.stringify(numbered));
      return numbered;
    });
  }

  async eventsAfter(taskId: string, afterSeq: number, limit: number): Promise<BusEvent[]> {
    this.hooks.assertOpen();
    return this.selectEvents.all(taskId, afterSeq, limit).map((row) => decodeStored<BusEvent>(row.doc, "task event"));
  }

  /**
   * Group commit: each entry is its own entry of the backend's write batch (so a refused one is rolled back alone),
   * and entries queued in one tick share that batch's transaction and its one fsync. The document is serialised
   * now, during the call (the contract lets the caller change its record afterwards); its `lastSeq` is the column's.
   */
  commitTasks(batch: readonly TaskCommit[]): Promise<TaskCommitOutcome[]> {
    return Promise.allSettled(
      batch.map(({ record, events, doc: made }) => {
        const { id, state, updatedAt } = record.task;
        const runner = runnerOf(record);
        const doc = made ?? JSON.stringify(record);
        return this.hooks.enqueue(() => {
          const current = this.selectLastSeq.get(id);
          if (!current) throw new TaskMissingError(id);
          if (current.runner !== runner) throw new TaskFencedError(id);
          const numbered = numberEvents(id, events, current.last_seq + 1);
          const lastSeq = current.last_seq + numbered.length;
          this.updateTask.run(state, lastSeq, updatedAt, doc, id);
          for (const event of numbered) this.insertEvent.run(id, event.seq!, JSON.stringify(event));
          return { lastSeq, events: numbered };
        });
      }),
    ).then(commitOutcomes);
  }
}
