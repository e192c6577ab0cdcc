/**
 * The push service on its real parts without the HTTP layer: the memory backend's task and push stores, the in-process
 * bus and the event hub, a real HTTP receiver. Tasks are written to the task store as kCore writes them (stored, then
 * published). What only this level shows: credentials are sealed in the stored row (not there in clear, not readable
 * for another config), a replaced config moves to its new receiver without sending an event twice, the delivery
 * position is stored as events go out, and the config is deleted after the task's last event.
 */
import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { TaskPushNotificationConfig } from "@a2a-js/sdk";
import type { TaskState } from "@kai/protocol";
import { openStore } from "../../../src/storage/index.js";
import type { StorageBackend } from "../../../src/storage/contracts/storage-backend.js";
import type { NewTaskEvent, TaskRecord } from "../../../src/storage/contracts/task-store.js";
import { createInProcessBus } from "../../../src/bus/in-process-bus.js";
import { EventHub } from "../../../src/bus/event-hub.js";
import type { EventBus } from "../../../src/bus/event-bus.js";
import { Writable } from "node:stream";
import pino from "pino";
import type { Logger } from "../../../src/logging/logger.js";
import { A2aPush } from "../../../src/agents/a2a/server/push/a2a-push.js";
import { eventually } from "../../helpers/test-server.js";
import { PushReceiver } from "./push-receiver.js";

const at = "2030-05-06T07:08:09.000Z";
let receiver: PushReceiver;
let backend: StorageBackend;
let bus: EventBus;
let hub: EventHub;
let push: A2aPush;
/** Every log line of the push service (checked for secrets). */
const logs: string[] = [];

const record = (id: string, state: TaskState = "working"): TaskRecord => ({
  task: { id, goal: "g", state, owner: "alice", createdAt: at, updatedAt: at, steps: [{ id: "main", capability: "echo", state: "pending", attempts: 0 }], lastSeq: 0 },
  spec: { input: {}, principal: { owner: "alice", scopes: ["tasks:run"], tokenId: "t1" }, excluded: {}, answers: {} },
});
const progress = (state: TaskState): NewTaskEvent => ({ id: `e-${Math.random()}`, type: "TASK_PROGRESS", agent: "kCore:main", owner: "alice", payload: { state }, timestamp: at });

/** Stores events of the task (as kCore commits them) and publishes them. */
async function commit(id: string, state: TaskState, events: NewTaskEvent[]): Promise<void> {
  const current = (await backend.taskStore().getTask(id))!;
  const done = await backend.taskStore().commitTask({ ...current, task: { ...current.task, state } }, events);
  for (const event of done.events) await bus.publish(event);
}

const hook = (taskId: string, path: string, extra: Partial<TaskPushNotificationConfig> = {}): TaskPushNotificationConfig => ({ tenant: "", id: "c1", taskId, url: `${receiver.url}${path}`, token: "", authentication: undefined, ...extra });
const seqsAt = (path: string) => receiver.at(path).map((each) => (each.body.payload?.value as { metadata?: { kai?: { seq?: number } } }).metadata?.kai?.seq);

beforeAll(async () => {
  receiver = await PushReceiver.start();
});
afterAll(async () => receiver.close());

beforeEach(async () => {
  backend = await openStore({ kind: "memory" });
  bus = createInProcessBus();
  hub = new EventHub({ bus, taskEvents: backend.taskStore(), maxQueued: 100 });
  const key = randomBytes(32);
  push = new A2aPush({
    store: backend.a2aPushStore(),
    tasks: backend.taskStore(),
    hub,
    settings: { allowPrivate: true, attempts: 3, backoffMs: 10, timeoutMs: 2000 },
    sealKey: () => key,
    logger: pino({ level: "debug" }, new Writable({ write: (chunk, _encoding, done) => void (logs.push(String(chunk)), done()) })) as unknown as Logger,
    pollMs: 60_000,
  });
  push.delivery.start();
});
afterEach(async () => {
  await push.delivery.stop();
  hub.close();
  await bus.close();
  await backend.close();
});

describe("the push service", () => {
  it("seals credentials in the stored row: not in clear, bound to their config", async () => {
    const { record: task } = await backend.taskStore().createTask(record("t_seal"), [progress("working")]);
    await push.create(task.task, hook("t_seal", "/seal", { authentication: { scheme: "Bearer", credentials: "sealed-secret-42" }, token: "legacy-77" }));
    const row = (await backend.a2aPushStore().getConfig("t_seal", "c1"))!;
    expect(row.scheme).toBe("Bearer");
    expect(row.sealed).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain("sealed-secret-42");
    expect(JSON.stringify(row)).not.toContain("legacy-77");
    // The same sealed text on another config's row does not open: the delivery of that config fails, nothing is sent.
    await backend.a2aPushStore().putConfig({ ...row, id: "c2", url: `${receiver.url}/stolen` });
    push.delivery.wake();
    await commit("t_seal", "completed", [progress("completed")]);
    // The result artifact and the completion.
    await eventually(async () => receiver.at("/seal").length === 2);
    expect(receiver.at("/seal").every((each) => each.authorization === "Bearer sealed-secret-42")).toBe(true);
    expect(receiver.at("/stolen")).toEqual([]);
    // The failed config was logged (it could not be opened), the secrets never were.
    await eventually(async () => logs.some((line) => line.includes("t_seal")));
    expect(logs.filter((line) => line.includes("sealed-secret-42") || line.includes("legacy-77"))).toEqual([]);
  });

  it("stores the delivery position as events go out and deletes the config after the last one", async () => {
    const { record: task } = await backend.taskStore().createTask(record("t_pos"), [progress("working")]);
    await push.create(task.task, hook("t_pos", "/pos"));
    expect((await backend.a2aPushStore().getConfig("t_pos", "c1"))?.deliveredSeq).toBe(1);
    await commit("t_pos", "working", [{ ...progress("working"), type: "AGENT_RESULT", payload: { step: "main", output: { ok: true } } }]);
    await eventually(async () => (await backend.a2aPushStore().getConfig("t_pos", "c1"))?.deliveredSeq === 2);
    expect(seqsAt("/pos")).toEqual([2]);
    await commit("t_pos", "completed", [progress("completed")]);
    await eventually(async () => (await backend.a2aPushStore().getConfig("t_pos", "c1")) === null);
    // The result artifact and the completion, both of seq 3.
    expect(seqsAt("/pos")).toEqual([2, 3, 3]);
  });

  it("a replaced config goes on at its new receiver, without an event twice", async () => {
    const { record: task } = await backend.taskStore().createTask(record("t_move"), [progress("working")]);
    await push.create(task.task, hook("t_move", "/old"));
    await commit("t_move", "working", [{ ...progress("working"), type: "AGENT_RESULT", payload: { step: "a", output: { ok: true } } }]);
    await eventually(async () => receiver.at("/old").length === 1);
    const current = (await backend.taskStore().getTask("t_move"))!;
    await push.create(current.task, hook("t_move", "/new"));
    await commit("t_move", "completed", [progress("completed")]);
    await eventually(async () => receiver.at("/new").length === 2);
    expect(seqsAt("/old")).toEqual([2]);
    expect(seqsAt("/new")).toEqual([3, 3]);
  });
});
