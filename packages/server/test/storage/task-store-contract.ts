/**
 * @module test/storage/task-store-contract
 * The conformance suite every `TaskStore` backend must pass (src/storage/contracts/task-store.ts): create with an
 * idempotency key, get, list newest first by owner and state with a cursor, a commit that replaces the task and
 * appends its events with gap-free sequence numbers, `append`/`eventsAfter` of the TaskEventLog, unfinished tasks
 * for restart, and (durable backends) all of it after a reopen; with a `twin` (a second instance on the same
 * database) concurrent appends from both stay gap-free and unique. Tasks on many instances: the runner is
 * recorded, adoption is conditional (one of two adopters wins), a commit by a runner that was replaced is refused
 * (fencing), and an answer left by any instance is taken once. A store declaring `ordersWrites` applies a commit
 * issued while the task's create is still in flight after that create.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StorageBackend } from "../../src/storage/contracts/storage-backend.js";
import { TaskFencedError, TaskMissingError, type NewTaskEvent, type TaskRecord, type TaskStore } from "../../src/storage/contracts/task-store.js";

export interface OpenedTaskBackend {
  backend: StorageBackend;
  cleanup: () => Promise<void>;
  reopen?: () => Promise<StorageBackend>;
  twin?: () => Promise<StorageBackend>;
}

const at = "2030-05-06T07:08:09.000Z";

function record(id: string, owner = "alice", state: TaskRecord["task"]["state"] = "submitted"): TaskRecord {
  return {
    task: { id, goal: `goal of ${id}`, state, owner, createdAt: at, updatedAt: at, steps: [{ id: "main", capability: "echo", state: "pending", attempts: 0 }], lastSeq: 0 },
    spec: { input: { n: 1 }, principal: { owner, scopes: ["tasks:run"], tokenId: "t1" }, excluded: {}, answers: {} },
  };
}

const event = (state: string): NewTaskEvent => ({ id: `e-${Math.random()}`, type: "TASK_PROGRESS", agent: "kCore:main", payload: { state }, timestamp: at });

/** What a backend can do beyond the contract's core: survive a reopen (`reopen`), be opened twice (`twin`). */
export interface TaskBackendTraits {
  durable: boolean;
  instances: boolean;
  /** It declares `ordersWrites` (its writes are applied in call order). */
  ordersWrites: boolean;
}

/** `it` when the backend has the trait; otherwise the case is not declared (nothing to skip). */
const itIf = (declared: boolean) => (title: string, body: () => Promise<void>) => {
  if (declared) it(title, body);
};

export function runTaskStoreContract(name: string, open: () => Promise<OpenedTaskBackend>, traits: TaskBackendTraits): void {
  describe(`task store contract: ${name}`, () => {
    let opened: OpenedTaskBackend;
    let store: TaskStore;
    const extra: StorageBackend[] = [];

    beforeEach(async () => {
      opened = await open();
      store = opened.backend.taskStore();
    });
    afterEach(async () => {
      for (const backend of extra.splice(0)) await backend.close();
      await opened.backend.close().catch(() => undefined);
      await opened.cleanup();
    });

    it("creates a task with its first events numbered from 1, and reads it back", async () => {
      const made = await store.createTask(record("t_a"), [event("submitted")]);
      expect(made.created).toBe(true);
      expect(made.events.map((e) => [e.taskId, e.seq])).toEqual([["t_a", 1]]);
      expect(made.record.task.lastSeq).toBe(1);
      const read = await store.getTask("t_a");
      expect(read?.task).toMatchObject({ id: "t_a", goal: "goal of t_a", state: "submitted", lastSeq: 1 });
      expect(read?.spec.input).toEqual({ n: 1 });
      expect(await store.getTask("t_missing")).toBeNull();
    });

    it("an idempotency key returns the first task to the same owner, and is the owner's own", async () => {
      await store.createTask(record("t_1"), [event("submitted")], "key-1");
      const again = await store.createTask(record("t_2"), [event("submitted")], "key-1");
      expect(again.created).toBe(false);
      expect(again.record.task.id).toBe("t_1");
      expect(again.events).toEqual([]);
      expect(await store.getTask("t_2")).toBeNull();
      const bob = await store.createTask(record("t_3", "bob"), [event("submitted")], "key-1");
      expect(bob.created).toBe(true);
    });

    it("commits a new state with its events atomically after the last sequence number", async () => {
      const made = await store.createTask(record("t_c"), [event("submitted")]);
      const next = { ...made.record, task: { ...made.record.task, state: "working" as const } };
      const committed = await store.commitTask(next, [event("working"), event("step")]);
      expect(committed.events.map((e) => e.seq)).toEqual([2, 3]);
      expect(committed.record.task.lastSeq).toBe(3);
      const appended = await store.append("t_c", event("extra"));
      expect(appended.seq).toBe(4);
      const read = await store.getTask("t_c");
      expect(read?.task.state).toBe("working");
      expect(read?.task.lastSeq).toBe(4);
      const events = await store.eventsAfter("t_c", 0, 100);
      expect(events.map((e) => [e.seq, e.payload.state])).toEqual([[1, "submitted"], [2, "working"], [3, "step"], [4, "extra"]]);
      expect((await store.eventsAfter("t_c", 2, 1)).map((e) => e.seq)).toEqual([3]);
      expect(await store.eventsAfter("t_other", 0, 10)).toEqual([]);
    });

    it("lists newest first, by owner and state, page by page", async () => {
      for (const [id, owner, state] of [["t_01", "alice", "completed"], ["t_02", "alice", "working"], ["t_03", "bob", "working"], ["t_04", "alice", "failed"]] as const) {
        await store.createTask(record(id, owner, state), [event(state)]);
      }
      const first = await store.listTasks({ owner: "alice", limit: 2 });
      expect(first.records.map((r) => r.task.id)).toEqual(["t_04", "t_02"]);
      expect(first.nextCursor).not.toBeNull();
      const second = await store.listTasks({ owner: "alice", limit: 2, cursor: first.nextCursor! });
      expect(second.records.map((r) => r.task.id)).toEqual(["t_01"]);
      expect(second.nextCursor).toBeNull();
      const working = await store.listTasks({ states: ["working"], limit: 10 });
      expect(working.records.map((r) => r.task.id)).toEqual(["t_03", "t_02"]);
      const unfinished = await store.unfinishedTasks();
      expect(unfinished.map((r) => r.task.id)).toEqual(["t_02", "t_03"]);
    });

    // Declared only for the backends that have the trait (the memory store has no reopen; one SQLite file, no twin).
    itIf(traits.durable)("keeps tasks and events across a reopen (durable backends)", async () => {
      const made = await store.createTask(record("t_d"), [event("submitted")], "k");
      await store.commitTask({ ...made.record, task: { ...made.record.task, state: "working" } }, [event("working")]);
      await opened.backend.close();
      const again = await opened.reopen!();
      extra.push(again);
      const reopened = again.taskStore();
      expect((await reopened.getTask("t_d"))?.task).toMatchObject({ state: "working", lastSeq: 2 });
      expect((await reopened.eventsAfter("t_d", 0, 10)).map((e) => e.seq)).toEqual([1, 2]);
      expect((await reopened.createTask(record("t_e"), [], "k")).record.task.id).toBe("t_d");
      expect((await reopened.unfinishedTasks()).map((r) => r.task.id)).toEqual(["t_d"]);
    });

    it("records the runner; only a live adoption changes it, and a replaced runner's commit is refused", async () => {
      const made = await store.createTask({ ...record("t_run"), runner: "inst-a" }, [event("submitted")]);
      expect(made.record.runner).toBe("inst-a");
      expect((await store.getTask("t_run"))?.runner).toBe("inst-a");
      expect((await store.unfinishedTasks()).find((r) => r.task.id === "t_run")?.runner).toBe("inst-a");
      expect((await store.unfinishedRunners()).find((r) => r.id === "t_run")).toEqual({ id: "t_run", runner: "inst-a" });
      // A commit from an instance that is not the runner is refused, and stores nothing.
      await expect(store.commitTask({ ...made.record, runner: "inst-b", task: { ...made.record.task, state: "working" } }, [event("b")])).rejects.toBeInstanceOf(TaskFencedError);
      // Adoption is conditional on the runner it expects: a stale expectation loses.
      expect(await store.adoptTask("t_run", "inst-x", "inst-b")).toBeNull();
      const adopted = await store.adoptTask("t_run", "inst-a", "inst-b");
      expect(adopted?.runner).toBe("inst-b");
      expect(adopted?.task.lastSeq).toBe(1);
      expect(await store.adoptTask("t_run", "inst-a", "inst-c")).toBeNull();
      // The zombie (inst-a) is fenced off; the adopter commits.
      await expect(store.commitTask({ ...made.record, task: { ...made.record.task, state: "working" } }, [event("a")])).rejects.toBeInstanceOf(TaskFencedError);
      const next = await store.commitTask({ ...adopted!, task: { ...adopted!.task, state: "completed" } }, [event("done")]);
      expect(next.events.map((e) => e.seq)).toEqual([2]);
      expect((await store.getTask("t_run"))?.runner).toBe("inst-b");
      expect((await store.eventsAfter("t_run", 0, 10)).map((e) => e.payload.state)).toEqual(["submitted", "done"]);
      // A finished task is adopted by no one; a runner-less one (copied, or older) by whoever expects null.
      expect(await store.adoptTask("t_run", "inst-b", "inst-c")).toBeNull();
      await store.createTask(record("t_none"), [event("submitted")]);
      expect((await store.getTask("t_none"))?.runner ?? null).toBeNull();
      expect((await store.adoptTask("t_none", null, "inst-c"))?.runner).toBe("inst-c");
      expect(await store.adoptTask("t_missing", null, "inst-c")).toBeNull();
    });

    it("an answer left for an input-required task is taken once; none for a task not waiting", async () => {
      await store.createTask({ ...record("t_wait", "alice", "input-required"), runner: "inst-a" }, [event("input-required")]);
      await store.createTask(record("t_busy", "alice", "working"), [event("working")]);
      expect(await store.putAnswer("t_busy", { step: "main", value: 1 })).toBe(false);
      expect(await store.putAnswer("t_missing", { step: "main", value: 1 })).toBe(false);
      expect(await store.takeAnswer("t_wait")).toBeNull();
      expect(await store.putAnswer("t_wait", { step: "main", value: { city: "Oslo" } })).toBe(true);
      expect(await store.putAnswer("t_wait", { step: "main", value: { city: "Bergen" } })).toBe(true);
      expect(await store.takeAnswer("t_wait")).toEqual({ step: "main", value: { city: "Bergen" } });
      expect(await store.takeAnswer("t_wait")).toBeNull();
      // The runner's commits leave an answer not yet taken in place.
      const waiting = (await store.getTask("t_wait"))!;
      await store.putAnswer("t_wait", { step: "main", value: 2 });
      await store.commitTask(waiting, [event("still")]);
      expect(await store.takeAnswer("t_wait")).toEqual({ step: "main", value: 2 });
    });

    itIf(traits.instances)("two instances adopting one task at once: exactly one wins", async () => {
      const twin = await opened.twin!();
      extra.push(twin);
      await store.createTask({ ...record("t_adopt"), runner: "dead" }, [event("submitted")]);
      const other = twin.taskStore();
      const results = await Promise.all([store.adoptTask("t_adopt", "dead", "inst-a"), other.adoptTask("t_adopt", "dead", "inst-b")]);
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect((await store.getTask("t_adopt"))?.runner).toBe(winners[0]!.runner);
    });

    itIf(traits.instances)("two instances appending to one task at once never share or skip a number", async () => {
      const twin = await opened.twin!();
      extra.push(twin);
      await store.createTask(record("t_race"), [event("submitted")]);
      const other = twin.taskStore();
      await Promise.all(Array.from({ length: 10 }, (_, index) => (index % 2 ? other : store).append("t_race", event(`n${index}`))));
      const seqs = (await store.eventsAfter("t_race", 0, 100)).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: 11 }, (_, index) => index + 1));
      expect((await other.getTask("t_race"))?.task.lastSeq).toBe(11);
    });

    // ---- group commit (commitTasks, kCore's task-commits.ts) ----

    itIf(traits.ordersWrites)("orders its writes: a commit issued before the create was acknowledged lands after it", async () => {
      // kCore relies on TaskStore.ordersWrites to start a runner before its create is stored (task-engine.ts).
      expect(store.ordersWrites).toBe(true);
      const created = store.createTask(record("t_ord"), [event("submitted")]);
      // Issued the way kCore's batcher does, in the next turn, while the create may still be in flight.
      const committed = new Promise<Awaited<ReturnType<TaskStore["commitTasks"]>>>((resolve, reject) =>
        setImmediate(() => store.commitTasks([{ record: record("t_ord", "alice", "working"), events: [event("working"), event("running")] }]).then(resolve, reject)),
      );
      expect((await created).created).toBe(true);
      expect(await committed).toEqual([{ ok: true, lastSeq: 3, events: [expect.objectContaining({ seq: 2 }), expect.objectContaining({ seq: 3 })] }]);
      expect((await store.getTask("t_ord"))?.task).toMatchObject({ state: "working", lastSeq: 3 });
      expect((await store.eventsAfter("t_ord", 0, 10)).map((e) => [e.seq, e.payload.state])).toEqual([[1, "submitted"], [2, "working"], [3, "running"]]);
    });

    it("a group commit stores each task and numbers each task's events after its own last one", async () => {
      await store.createTask(record("t_g1"), [event("submitted")]);
      await store.createTask(record("t_g2"), [event("submitted"), event("working")]);
      const one = record("t_g1", "alice", "working");
      const two = record("t_g2", "alice", "completed");
      two.task.result = { done: true };
      const outcomes = await store.commitTasks([
        { record: one, events: [event("a"), event("b")] },
        { record: two, events: [event("c")] },
      ]);
      // The store read the records during the call: changing them now changes nothing stored.
      one.task.state = "failed";
      expect(outcomes).toEqual([
        { ok: true, lastSeq: 3, events: [expect.objectContaining({ taskId: "t_g1", seq: 2, payload: { state: "a" } }), expect.objectContaining({ taskId: "t_g1", seq: 3 })] },
        { ok: true, lastSeq: 3, events: [expect.objectContaining({ taskId: "t_g2", seq: 3, payload: { state: "c" } })] },
      ]);
      expect((await store.getTask("t_g1"))?.task).toMatchObject({ state: "working", lastSeq: 3 });
      expect((await store.getTask("t_g2"))?.task).toMatchObject({ state: "completed", lastSeq: 3, result: { done: true } });
      expect((await store.eventsAfter("t_g1", 0, 10)).map((e) => [e.seq, e.payload])).toEqual([[1, { state: "submitted" }], [2, { state: "a" }], [3, { state: "b" }]]);
      expect(await store.commitTasks([])).toEqual([]);
    });

    it("in a group commit a refused entry (fenced, or missing) fails alone: the others are stored", async () => {
      await store.createTask({ ...record("t_gf"), runner: "inst-b" }, [event("submitted")]);
      await store.createTask({ ...record("t_gok"), runner: "inst-a" }, [event("submitted")]);
      const outcomes = await store.commitTasks([
        { record: { ...record("t_gf", "alice", "working"), runner: "inst-a" }, events: [event("zombie")] },
        { record: record("t_gmissing"), events: [event("x")] },
        { record: { ...record("t_gok", "alice", "working"), runner: "inst-a" }, events: [event("fine")] },
      ]);
      expect(outcomes[0]).toMatchObject({ ok: false });
      expect(outcomes[0]!.ok ? null : outcomes[0]!.error).toBeInstanceOf(TaskFencedError);
      expect(outcomes[1]).toMatchObject({ ok: false });
      // Its create was never stored: the runner must not be told "resumes after a restart" (TaskRunner.commitFailed).
      expect(outcomes[1]!.ok ? null : outcomes[1]!.error).toBeInstanceOf(TaskMissingError);
      await expect(store.commitTask(record("t_gmissing"), [event("x")])).rejects.toBeInstanceOf(TaskMissingError);
      expect(outcomes[2]).toMatchObject({ ok: true, lastSeq: 2 });
      expect((await store.getTask("t_gf"))?.task).toMatchObject({ state: "submitted", lastSeq: 1 });
      expect(await store.eventsAfter("t_gf", 1, 10)).toEqual([]);
      expect((await store.getTask("t_gok"))?.task).toMatchObject({ state: "working", lastSeq: 2 });
    });

    itIf(traits.durable)("a group commit is durable: it is all there after a reopen", async () => {
      await store.createTask(record("t_gd"), [event("submitted")]);
      await store.commitTasks([{ record: record("t_gd", "alice", "completed"), events: [event("done")] }]);
      await opened.backend.close();
      const reopened = await opened.reopen!();
      extra.push(reopened);
      const again = reopened.taskStore();
      expect((await again.getTask("t_gd"))?.task).toMatchObject({ state: "completed", lastSeq: 2 });
      expect((await again.eventsAfter("t_gd", 1, 10)).map((e) => e.payload)).toEqual([{ state: "done" }]);
    });
  });
}
