/**
 * @module storage/copy/copy-tasks
 * Copies kCore's task store (contracts/task-store.ts): every task (any owner, any state) with its events in order.
 * The target numbers a task's events 1, 2, … as it stores them, which are the numbers they had: a client that
 * resumes a task's event stream "after seq N" on the new backend misses nothing. A task that was running when the
 * source node stopped is copied as it was and resumed by the first instance that opens the target, as after any
 * restart. The runner (the instance that ran a task) is copied as it was (the copy is verified equal): that
 * instance is never a live member on the target, so the first instance to open the target adopts the unfinished
 * ones (agents/kcore/task-adoption.ts). Idempotency keys stay behind (they only protect a client's retries of a
 * create, minutes apart).
 */
import type { NewTaskEvent, TaskRecord, TaskStore } from "../contracts/task-store.js";
import type { Progress } from "./copy-node.js";

/** Tasks read per page, and events per read. */
const PAGE = 500;
const EVENTS_PAGE = 10_000;

/** Every task of `store`, newest first, page by page. */
export async function* allTasks(store: TaskStore): AsyncGenerator<TaskRecord[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await store.listTasks({ limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    if (page.records.length > 0) yield page.records;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

/** Every event of one task, in order. */
export async function allTaskEvents(store: TaskStore, taskId: string): Promise<NewTaskEvent[]> {
  const events: NewTaskEvent[] = [];
  for (let after = 0; ; ) {
    const page = await store.eventsAfter(taskId, after, EVENTS_PAGE);
    for (const { seq: _seq, taskId: _taskId, ...event } of page) events.push(event);
    const last = page.at(-1);
    if (!last || page.length < EVENTS_PAGE) return events;
    after = last.seq ?? after + page.length;
  }
}

export async function copyTasks(source: TaskStore, target: TaskStore, progress: Progress): Promise<{ tasks: number; events: number }> {
  let tasks = 0;
  let events = 0;
  for await (const page of allTasks(source)) {
    for (const record of page) {
      const history = await allTaskEvents(source, record.task.id);
      await target.createTask(record, history);
      tasks++;
      events += history.length;
    }
  }
  progress(`tasks: ${tasks} tasks with ${events} events copied`);
  return { tasks, events };
}
