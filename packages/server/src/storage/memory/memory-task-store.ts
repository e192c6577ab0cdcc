/**
 * @module storage/memory/memory-task-store
 * `TaskStore` in process memory, for `storage.kind: memory` (nothing survives a restart). Every method runs to its
 * end without awaiting, so a commit (task + events) is atomic by construction. Copies go in and out as JSON, so a
 * caller changing its object never changes the stored one.
 */
import type { BusEvent } from "@kai/protocol";
import { numberEvents, runnerOf, TaskFencedError, TaskMissingError, UNFINISHED_TASK_STATES, type NewTaskEvent, type PendingAnswer, type TaskCommit, type TaskCommitOutcome, type TaskListQuery, type TaskPage, type TaskRecord, type TaskStore } from "../contracts/task-store.js";

const copy = <T>(value: T): T => structuredClone(value);

export class MemoryTaskStore implements TaskStore {
  /** Each write is applied when called (see TaskStore.ordersWrites). */
  readonly ordersWrites = true;
  private readonly tasks = new Map<string, TaskRecord>();
  private readonly events = new Map<string, BusEvent[]>();
  private readonly keys = new Map<string, string>();
  private readonly answers = new Map<string, PendingAnswer>();

  constructor(private readonly check: () => void) {}

  async createTask(record: TaskRecord, events: NewTaskEvent[], idempotencyKey?: string) {
    this.check();
    const key = idempotencyKey === undefined ? undefined : `${record.task.owner}\n${idempotencyKey}`;
    const existing = key === undefined ? undefined : this.keys.get(key);
    if (existing !== undefined) return { record: copy(this.tasks.get(existing)!), created: false, events: [] };
    if (this.tasks.has(record.task.id)) throw new Error(`task ${record.task.id} exists`);
    const numbered = numberEvents(record.task.id, events, 1);
    const stored = copy({ ...record, task: { ...record.task, lastSeq: numbered.length } });
    this.tasks.set(stored.task.id, stored);
    this.events.set(stored.task.id, copy(numbered));
    if (key !== undefined) this.keys.set(key, stored.task.id);
    return { record: copy(stored), created: true, events: numbered };
  }

  async getTask(id: string) {
    this.check();
    const record = this.tasks.get(id);
    return record ? copy(record) : null;
  }

  async listTasks(query: TaskListQuery): Promise<TaskPage> {
    this.check();
    const matching = [...this.tasks.values()]
      .filter((record) => query.owner === undefined || record.task.owner === query.owner)
      .filter((record) => query.states === undefined || query.states.includes(record.task.state))
      .filter((record) => query.cursor === undefined || record.task.id < query.cursor)
      .sort((a, b) => (a.task.id < b.task.id ? 1 : -1));
    const page = matching.slice(0, query.limit).map(copy);
    return { records: page, nextCursor: matching.length > query.limit ? page[page.length - 1]!.task.id : null };
  }

  async commitTask(record: TaskRecord, events: NewTaskEvent[]) {
    this.check();
    const current = this.tasks.get(record.task.id);
    if (!current) throw new TaskMissingError(record.task.id);
    if (runnerOf(current) !== runnerOf(record)) throw new TaskFencedError(record.task.id);
    const numbered = numberEvents(record.task.id, events, current.task.lastSeq + 1);
    const stored = copy({ ...record, task: { ...record.task, lastSeq: current.task.lastSeq + numbered.length } });
    this.tasks.set(stored.task.id, stored);
    this.events.get(stored.task.id)!.push(...copy(numbered));
    return { record: copy(stored), events: numbered };
  }

  async unfinishedTasks() {
    this.check();
    return [...this.tasks.values()]
      .filter((record) => UNFINISHED_TASK_STATES.includes(record.task.state))
      .sort((a, b) => (a.task.id < b.task.id ? -1 : 1))
      .map(copy);
  }

  async unfinishedRunners() {
    return (await this.unfinishedTasks()).map((record) => ({ id: record.task.id, runner: record.runner ?? null }));
  }

  async adoptTask(id: string, from: string | null, to: string) {
    this.check();
    const current = this.tasks.get(id);
    if (!current || !UNFINISHED_TASK_STATES.includes(current.task.state) || runnerOf(current) !== from) return null;
    current.runner = to;
    return copy(current);
  }

  async putAnswer(id: string, answer: PendingAnswer) {
    this.check();
    if (this.tasks.get(id)?.task.state !== "input-required") return false;
    this.answers.set(id, copy(answer));
    return true;
  }

  async takeAnswer(id: string) {
    this.check();
    const answer = this.answers.get(id);
    this.answers.delete(id);
    return answer ?? null;
  }

  async append(taskId: string, event: NewTaskEvent): Promise<BusEvent> {
    this.check();
    const current = this.tasks.get(taskId);
    if (!current) throw new TaskMissingError(taskId);
    current.task.lastSeq += 1;
    const numbered: BusEvent = { ...event, taskId, seq: current.task.lastSeq };
    this.events.get(taskId)!.push(copy(numbered));
    return numbered;
  }

  async eventsAfter(taskId: string, afterSeq: number, limit: number): Promise<BusEvent[]> {
    this.check();
    return (this.events.get(taskId) ?? []).filter((event) => event.seq! > afterSeq).slice(0, limit).map(copy);
  }

  /** Group commit: entry by entry, each all or nothing; nothing awaited, so the batch is atomic as a whole too. */
  async commitTasks(batch: readonly TaskCommit[]): Promise<TaskCommitOutcome[]> {
    this.check();
    return batch.map(({ record, events }): TaskCommitOutcome => {
      const current = this.tasks.get(record.task.id);
      if (!current) return { ok: false, error: new TaskMissingError(record.task.id) };
      if (runnerOf(current) !== runnerOf(record)) return { ok: false, error: new TaskFencedError(record.task.id) };
      const numbered = numberEvents(record.task.id, events, current.task.lastSeq + 1);
      const lastSeq = current.task.lastSeq + numbered.length;
      // One copy in (the caller keeps changing its record); none out: the caller needs only lastSeq and the events.
      const stored = copy(record);
      stored.task.lastSeq = lastSeq;
      this.tasks.set(stored.task.id, stored);
      this.events.get(stored.task.id)!.push(...copy(numbered));
      return { ok: true, lastSeq, events: numbered };
    });
  }
}
