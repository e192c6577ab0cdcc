/**
 * kCore's group commit (src/agents/kcore/task-commits.ts) on the real memory task store: the changes of many tasks
 * made in one turn go to the store in one `commitTasks` call; one task's writes stay in order, one at a time, each
 * published only once stored; the record written is the record as the batch leaves; a refused task fails alone.
 */
import { describe, expect, it } from "vitest";
import type { BusEvent } from "@kai/protocol";
import { MemoryTaskStore } from "../../../src/storage/memory/memory-task-store.js";
import type { NewTaskEvent, TaskCommit, TaskRecord, TaskStore } from "../../../src/storage/contracts/task-store.js";
import { TaskFencedError } from "../../../src/storage/contracts/task-store.js";
import { TaskCommitter } from "../../../src/agents/kcore/task-commits.js";

const at = "2030-05-06T07:08:09.000Z";
const record = (id: string, runner?: string): TaskRecord => ({
  task: { id, goal: id, state: "working", owner: "alice", createdAt: at, updatedAt: at, steps: [{ id: "s", capability: "echo", state: "pending", attempts: 0 }], lastSeq: 0 },
  spec: { input: {}, principal: { owner: "alice", scopes: ["tasks:run"], tokenId: "t" }, excluded: {}, answers: {} },
  ...(runner !== undefined ? { runner } : {}),
});
const event = (n: string): NewTaskEvent => ({ id: n, type: "TASK_PROGRESS", agent: "kCore:main", payload: { n }, timestamp: at });

/** The real store, with its group commits counted. */
function countedStore(): { store: TaskStore; batches: TaskCommit[][] } {
  const store = new MemoryTaskStore(() => undefined);
  const batches: TaskCommit[][] = [];
  const commitTasks = store.commitTasks.bind(store);
  store.commitTasks = (batch) => {
    batches.push([...batch]);
    return commitTasks(batch);
  };
  return { store, batches };
}

async function committer(store: TaskStore, rec: TaskRecord, published: BusEvent[]): Promise<TaskCommitter> {
  const made = await store.createTask(rec, [event("created")]);
  rec.task.lastSeq = made.record.task.lastSeq;
  return new TaskCommitter({ record: rec, store, stored: (events) => published.push(...events) });
}

describe("task group commit", () => {
  it("stores the changes of many tasks made in one turn in one call, each task's events gap-free and published once stored", async () => {
    const { store, batches } = countedStore();
    const published: BusEvent[] = [];
    const records = ["t1", "t2", "t3"].map((id) => record(id));
    const committers = await Promise.all(records.map((rec) => committer(store, rec, published)));
    await Promise.all(committers.map((c, i) => c.commit([event(`a${i}`), event(`b${i}`)])));
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(3);
    for (const rec of records) {
      expect(rec.task.lastSeq).toBe(3);
      expect((await store.eventsAfter(rec.task.id, 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3]);
    }
    expect(published.map((e) => `${e.taskId}:${e.seq}`)).toEqual(["t1:2", "t1:3", "t2:2", "t2:3", "t3:2", "t3:3"]);
  });

  it("keeps one write of a task in flight: changes made meanwhile follow in the next batch, in order, with the record as it is then", async () => {
    const { store, batches } = countedStore();
    const published: BusEvent[] = [];
    const rec = record("t1");
    const c = await committer(store, rec, published);
    rec.task.state = "input-required";
    const first = c.commit([event("first")]);
    await new Promise((resolve) => setImmediate(resolve)); // the first batch has left
    rec.task.state = "working";
    const second = c.commit([event("second")]);
    rec.task.state = "completed";
    const third = c.commit([event("third")]);
    await Promise.all([first, second, third]);
    expect(batches.map((batch) => batch.map((entry) => entry.events.map((e) => e.id)))).toEqual([[["first"]], [["second", "third"]]]);
    expect((await store.getTask("t1"))?.task).toMatchObject({ state: "completed", lastSeq: 4 });
    expect(published.map((e) => e.id)).toEqual(["first", "second", "third"]);
  });

  it("a refused task's commit fails alone; the others in its batch are stored", async () => {
    const { store } = countedStore();
    const published: BusEvent[] = [];
    const fenced = record("t_fenced", "inst-a");
    const fine = record("t_fine", "inst-a");
    const cf = await committer(store, fenced, published);
    const ok = await committer(store, fine, published);
    await store.adoptTask("t_fenced", "inst-a", "inst-b");
    const [refused, stored] = await Promise.allSettled([cf.commit([event("zombie")]), ok.commit([event("fine")])]);
    expect(refused.status === "rejected" && refused.reason).toBeInstanceOf(TaskFencedError);
    expect(stored.status).toBe("fulfilled");
    expect(published.map((e) => e.id)).toEqual(["fine"]);
    expect(await store.eventsAfter("t_fenced", 1, 10)).toEqual([]);
  });

  it("after a failed write a task stores nothing more: what queued behind it and later changes fail with the same error", async () => {
    const { store } = countedStore();
    const published: BusEvent[] = [];
    const rec = record("t_io");
    const c = await committer(store, rec, published);
    // One write fails (an I/O error), the store works again after it: a later write would store the record without
    // the failed write's events.
    const commitTasks = store.commitTasks.bind(store);
    const ioError = new Error("disk I/O error");
    let failures = 1;
    store.commitTasks = (batch) => (failures-- > 0 ? Promise.reject(ioError) : commitTasks(batch));
    // Each outcome is taken as it settles (the failure may come before the next line runs).
    const outcome = (promise: Promise<void>) => promise.then(() => "stored", (error: unknown) => error);
    rec.task.steps[0]!.state = "completed";
    const failed = outcome(c.commit([event("result")]));
    await new Promise((resolve) => setImmediate(resolve)); // the failing write has left; the next change queues behind it
    rec.task.state = "completed";
    const queued = outcome(c.commit([event("finished")]));
    const results = await Promise.all([failed, queued]);
    results.push(await outcome(c.commit([event("later")])));
    expect(results).toEqual([ioError, ioError, ioError]);
    expect(published).toEqual([]);
    expect((await store.getTask("t_io"))?.task).toMatchObject({ state: "working", lastSeq: 1, steps: [{ state: "pending" }] });
    expect(await store.eventsAfter("t_io", 1, 10)).toEqual([]);
  });
});
