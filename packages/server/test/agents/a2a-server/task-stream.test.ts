/**
 * The A2A task stream on the real event hub (in-process bus, in-memory task event log): a stream from seq 0 replays
 * every stored event then continues live, in order; a stream the hub has to cut (the node shutting down) ends with an
 * error naming the cut, never as a clean end that a client would read as "done".
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { TaskState, type StreamResponse } from "@a2a-js/sdk";
import type { Task } from "@kai/protocol";
import { createInProcessBus } from "../../../src/bus/in-process-bus.js";
import { createMemoryTaskEventLog } from "../../../src/bus/memory-task-event-log.js";
import { EventHub } from "../../../src/bus/event-hub.js";
import { StreamCutError, taskStream } from "../../../src/agents/a2a/server/task-stream.js";

function parts() {
  const bus = createInProcessBus();
  const log = createMemoryTaskEventLog();
  const hub = new EventHub({ bus, taskEvents: log, maxQueued: 100 });
  const store = async (taskId: string, payload: Record<string, unknown>) => {
    const event = await log.append(taskId, { id: randomUUID(), type: "TASK_PROGRESS", agent: "kCore:main", payload, timestamp: new Date().toISOString(), owner: "alice" });
    await bus.publish(event);
  };
  return { bus, hub, store };
}

function snapshot(id: string, state: Task["state"], lastSeq: number): Task {
  const at = new Date().toISOString();
  return { id, goal: "g", state, owner: "alice", createdAt: at, updatedAt: at, steps: [], lastSeq };
}

const seqOf = (response: StreamResponse) => (response.payload?.$case === "statusUpdate" ? (response.payload.value.metadata as { kai: { seq: number } }).kai.seq : undefined);

describe("taskStream", () => {
  it("replays the stored events from the first, then the live ones, and ends at a terminal state", async () => {
    const { hub, store, bus } = parts();
    await store("t1", { state: "submitted" });
    await store("t1", { state: "working" });
    const seen: StreamResponse[] = [];
    const reading = (async () => {
      for await (const response of taskStream({ hub, viewer: { owner: "alice", admin: false }, snapshot: snapshot("t1", "working", 2), after: 0, endAt: () => false })) seen.push(response);
    })();
    await store("t1", { state: "completed", result: { ok: true } });
    await reading;
    expect(seen[0]?.payload?.$case).toBe("task");
    expect(seen.map(seqOf).filter((seq) => seq !== undefined)).toEqual([1, 2, 3]);
    expect(seen.some((response) => response.payload?.$case === "artifactUpdate")).toBe(true);
    const last = seen.at(-1)!.payload!;
    expect(last.$case === "statusUpdate" && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    hub.close();
    await bus.close();
  });

  it("ends with StreamCutError when the hub drops it (shutdown), not with a clean end", async () => {
    const { hub, store, bus } = parts();
    await store("t2", { state: "submitted" });
    const stream = taskStream({ hub, viewer: { owner: "alice", admin: false }, snapshot: snapshot("t2", "submitted", 1), after: 1, endAt: () => false });
    expect((await stream.next()).value?.payload?.$case).toBe("task");
    const next = stream.next();
    hub.close();
    await expect(next).rejects.toBeInstanceOf(StreamCutError);
    await bus.close();
  });
});
