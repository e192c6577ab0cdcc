/**
 * @module storage/postgres/pg-task-store
 * The PostgreSQL backend of `TaskStore` (tables of migration 4), shared by every instance of the node. A commit
 * locks the task's row (`FOR UPDATE`), so two writers of one task (instances, or an append beside a commit) take
 * turns: sequence numbers stay gap-free and unique, and the document and its events commit in one transaction.
 * A create with an idempotency key relies on the unique `idem_key`: the second of two racing creates finds the first.
 */
import type { BusEvent } from "@kai/protocol";
import { decodeStored, numberEvents, runnerOf, TaskFencedError, TaskMissingError, UNFINISHED_TASK_STATES, type NewTaskEvent, type PendingAnswer, type TaskCommit, type TaskCommitOutcome, type TaskListQuery, type TaskPage, type TaskRecord, type TaskStore } from "../contracts/task-store.js";
import type { PgDatabase } from "./pg-database.js";
import type pg from "pg";

/** Migration 4. `idem_key` is `<owner>\n<key>`; ids sort by creation time (`COLLATE "C"`: byte order, as the other backends). */
export const TASK_SCHEMA = `
  CREATE TABLE tasks (
    id         text COLLATE "C" PRIMARY KEY,
    owner      text NOT NULL,
    state      text NOT NULL,
    idem_key   text UNIQUE,
    last_seq   bigint NOT NULL,
    updated_at text NOT NULL,
    doc        text NOT NULL
  );
  CREATE INDEX tasks_owner ON tasks (owner, id);
  CREATE INDEX tasks_unfinished ON tasks (id) WHERE state IN ('submitted', 'working', 'input-required');

  CREATE TABLE task_events (
    task_id text NOT NULL,
    seq     bigint NOT NULL,
    doc     text NOT NULL,
    PRIMARY KEY (task_id, seq)
  );
`;

/**
 * Migration 5 (tasks on a node of many instances): the instance running each task, which alone may commit it
 * (fencing), and an answer any instance leaves for that runner (agents/kcore/task-adoption.ts).
 */
export const TASK_RUNNER_SCHEMA = `
  ALTER TABLE tasks ADD COLUMN runner text;
  ALTER TABLE tasks ADD COLUMN answer text;
`;

interface TaskRow {
  doc: string;
  last_seq: string;
  runner: string | null;
  [column: string]: unknown;
}

const decode = (row: TaskRow): TaskRecord => {
  const record = decodeStored<TaskRecord>(row.doc, "task");
  record.task.lastSeq = Number(row.last_seq);
  // The column is the truth (an adoption changes it without rewriting the document).
  record.runner = row.runner;
  return record;
};

async function insertEvents(client: pg.PoolClient, taskId: string, events: BusEvent[]): Promise<void> {
  if (events.length === 0) return;
  await client.query("INSERT INTO task_events (task_id, seq, doc) SELECT $1, * FROM unnest($2::bigint[], $3::text[])", [
    taskId,
    events.map((event) => event.seq),
    events.map((event) => JSON.stringify(event)),
  ]);
}

export class PgTaskStore implements TaskStore {
  constructor(private readonly db: PgDatabase) {}

  async createTask(record: TaskRecord, events: NewTaskEvent[], idempotencyKey?: string) {
    const key = idempotencyKey === undefined ? null : `${record.task.owner}\n${idempotencyKey}`;
    const numbered = numberEvents(record.task.id, events, 1);
    const stored: TaskRecord = { ...record, task: { ...record.task, lastSeq: numbered.length } };
    const made = await this.db.transaction(async (client) => {
      const inserted = await client.query(
        `INSERT INTO tasks (id, owner, state, idem_key, last_seq, updated_at, doc, runner) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (idem_key) DO NOTHING RETURNING id`,
        [stored.task.id, stored.task.owner, stored.task.state, key, numbered.length, stored.task.updatedAt, JSON.stringify(stored), runnerOf(stored)],
      );
      if (inserted.rowCount === 0) return false;
      await insertEvents(client, stored.task.id, numbered);
      return true;
    });
    if (made) return { record: stored, created: true, events: numbered };
    const rows = await this.db.query<TaskRow>("SELECT doc, last_seq, runner FROM tasks WHERE idem_key = $1", [key]);
    if (!rows[0]) throw new Error("the task of this idempotency key vanished");
    return { record: decode(rows[0]), created: false, events: [] as BusEvent[] };
  }

  async getTask(id: string) {
    const rows = await this.db.query<TaskRow>("SELECT doc, last_seq, runner FROM tasks WHERE id = $1", [id]);
    return rows[0] ? decode(rows[0]) : null;
  }

  async listTasks(query: TaskListQuery): Promise<TaskPage> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (query.owner !== undefined) {
      values.push(query.owner);
      where.push(`owner = $${values.length}`);
    }
    if (query.states !== undefined) {
      values.push(query.states);
      where.push(`state = ANY($${values.length}::text[])`);
    }
    if (query.cursor !== undefined) {
      values.push(query.cursor);
      where.push(`id < $${values.length}`);
    }
    values.push(query.limit + 1);
    const rows = await this.db.query<TaskRow>(
      `SELECT doc, last_seq, runner FROM tasks ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT $${values.length}`,
      values,
    );
    const records = rows.slice(0, query.limit).map(decode);
    return { records, nextCursor: rows.length > query.limit ? records[records.length - 1]!.task.id : null };
  }

  commitTask(record: TaskRecord, events: NewTaskEvent[]) {
    return this.db.transaction(async (client) => {
      const current = await client.query<{ last_seq: string; runner: string | null }>("SELECT last_seq, runner FROM tasks WHERE id = $1 FOR UPDATE", [record.task.id]);
      if (!current.rows[0]) throw new TaskMissingError(record.task.id);
      // Fencing: the row lock is held, so an adoption either happened before (refused here) or waits for this commit.
      if (current.rows[0].runner !== runnerOf(record)) throw new TaskFencedError(record.task.id);
      const numbered = numberEvents(record.task.id, events, Number(current.rows[0].last_seq) + 1);
      const lastSeq = Number(current.rows[0].last_seq) + numbered.length;
      const stored: TaskRecord = { ...record, task: { ...record.task, lastSeq } };
      await client.query("UPDATE tasks SET state = $1, last_seq = $2, updated_at = $3, doc = $4 WHERE id = $5", [
        stored.task.state,
        lastSeq,
        stored.task.updatedAt,
        JSON.stringify(stored),
        stored.task.id,
      ]);
      await insertEvents(client, stored.task.id, numbered);
      return { record: stored, events: numbered };
    });
  }

  async unfinishedTasks() {
    const rows = await this.db.query<TaskRow>("SELECT doc, last_seq, runner FROM tasks WHERE state = ANY($1::text[]) ORDER BY id", [UNFINISHED_TASK_STATES]);
    return rows.map(decode);
  }

  unfinishedRunners() {
    return this.db.query<{ id: string; runner: string | null }>("SELECT id, runner FROM tasks WHERE state = ANY($1::text[]) ORDER BY id", [UNFINISHED_TASK_STATES]);
  }

  async adoptTask(id: string, from: string | null, to: string) {
    const rows = await this.db.query<TaskRow>(
      "UPDATE tasks SET runner = $1 WHERE id = $2 AND runner IS NOT DISTINCT FROM $3 AND state = ANY($4::text[]) RETURNING doc, last_seq, runner",
      [to, id, from, UNFINISHED_TASK_STATES],
    );
    return rows[0] ? decode(rows[0]) : null;
  }

  async putAnswer(id: string, answer: PendingAnswer) {
    const rows = await this.db.query<{ id: string }>("UPDATE tasks SET answer = $1 WHERE id = $2 AND state = 'input-required' RETURNING id", [JSON.stringify(answer), id]);
    return rows.length === 1;
  }

  async takeAnswer(id: string) {
    // One statement: the old value is read and cleared atomically (two takers never both get it).
    const rows = await this.db.query<{ answer: string | null }>(
      "UPDATE tasks SET answer = NULL FROM (SELECT answer AS old FROM tasks WHERE id = $1 FOR UPDATE) AS previous WHERE id = $1 RETURNING previous.old AS answer",
      [id],
    );
    const text = rows[0]?.answer;
    return text ? decodeStored<PendingAnswer>(text, "task answer") : null;
  }

  append(taskId: string, event: NewTaskEvent): Promise<BusEvent> {
    return this.db.transaction(async (client) => {
      const updated = await client.query<{ last_seq: string }>("UPDATE tasks SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq", [taskId]);
      if (!updated.rows[0]) throw new TaskMissingError(taskId);
      const numbered: BusEvent = { ...event, taskId, seq: Number(updated.rows[0].last_seq) };
      await insertEvents(client, taskId, [numbered]);
      return numbered;
    });
  }

  async eventsAfter(taskId: string, afterSeq: number, limit: number): Promise<BusEvent[]> {
    const rows = await this.db.query<{ doc: string; [column: string]: unknown }>(
      "SELECT doc FROM task_events WHERE task_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
      [taskId, afterSeq, limit],
    );
    return rows.map((row) => decodeStored<BusEvent>(row.doc, "task event"));
  }

  /**
   * Group commit in one transaction and three statements, whatever the batch's size: the rows are locked in id
   * order (two batches never deadlock), refused entries (fencing, missing) are decided under the lock and write
   * nothing, and the rest are updated and their events inserted in one statement each. The documents are
   * serialised during the call (the caller may change its records afterwards); their `lastSeq` is the column's.
   */
  async commitTasks(batch: readonly TaskCommit[]): Promise<TaskCommitOutcome[]> {
    const entries = batch.map(({ record, events, doc }) => ({ id: record.task.id, state: record.task.state, updatedAt: record.task.updatedAt, runner: runnerOf(record), doc: doc ?? JSON.stringify(record), events }));
    if (new Set(entries.map((entry) => entry.id)).size !== entries.length) throw new Error("a group commit holds one entry per task");
    if (entries.length === 0) return [];
    return this.db.transaction(async (client) => {
      const locked = await client.query<{ id: string; last_seq: string; runner: string | null }>(
        "SELECT id, last_seq, runner FROM tasks WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
        [entries.map((entry) => entry.id)],
      );
      const current = new Map(locked.rows.map((row) => [row.id, row]));
      const outcomes: TaskCommitOutcome[] = [];
      const updates: Array<{ id: string; state: string; lastSeq: number; updatedAt: string; doc: string }> = [];
      const numbered: BusEvent[] = [];
      for (const entry of entries) {
        const row = current.get(entry.id);
        if (!row) outcomes.push({ ok: false, error: new TaskMissingError(entry.id) });
        else if (row.runner !== entry.runner) outcomes.push({ ok: false, error: new TaskFencedError(entry.id) });
        else {
          const events = numberEvents(entry.id, entry.events, Number(row.last_seq) + 1);
          const lastSeq = Number(row.last_seq) + events.length;
          updates.push({ id: entry.id, state: entry.state, lastSeq, updatedAt: entry.updatedAt, doc: entry.doc });
          numbered.push(...events);
          outcomes.push({ ok: true, lastSeq, events });
        }
      }
      if (updates.length > 0) {
        await client.query(
          `UPDATE tasks AS t SET state = u.state, last_seq = u.last_seq, updated_at = u.updated_at, doc = u.doc
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[]) AS u(id, state, last_seq, updated_at, doc) WHERE t.id = u.id`,
          [updates.map((u) => u.id), updates.map((u) => u.state), updates.map((u) => u.lastSeq), updates.map((u) => u.updatedAt), updates.map((u) => u.doc)],
        );
      }
      if (numbered.length > 0) {
        await client.query("INSERT INTO task_events (task_id, seq, doc) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])", [
          numbered.map((event) => event.taskId),
          numbered.map((event) => event.seq),
          numbered.map((event) => JSON.stringify(event)),
        ]);
      }
      return outcomes;
    });
  }
}
