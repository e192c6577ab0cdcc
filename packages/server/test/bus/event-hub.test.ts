/**
 * The event hub (bus/event-hub.ts) on the in-process bus and the in-memory TaskEventLog: filters and access, a
 * slow live subscriber told it was dropped (never silently skipped), a task subscription that replays then
 * continues live with no gap and no duplicate (also when live events race the replay or a bus message is lost),
 * registry changes as REGISTRY_CHANGE, and the shutdown notice.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { BusEvent, ServiceRecord } from "@kai/protocol";
import { BusEventFilterSchema, type BusEventFilterInput } from "@kai/protocol";
import { createInProcessBus } from "../../src/bus/in-process-bus.js";
import { EventHub, type EventSubscription, type HubItem } from "../../src/bus/event-hub.js";
import { createMemoryTaskEventLog } from "../../src/bus/memory-task-event-log.js";
import type { TaskEventLog } from "../../src/bus/task-event-log.js";
import { ChangeFeed } from "../../src/registry/change-feed.js";
import { event } from "./event-bus-contract.js";

const admin = { owner: "root", admin: true };
const alice = { owner: "alice", admin: false };
const bob = { owner: "bob", admin: false };
const filter = (input: BusEventFilterInput = {}) => BusEventFilterSchema.parse(input);

function setup(options: { maxQueued?: number; log?: TaskEventLog } = {}) {
  const bus = createInProcessBus();
  const log = options.log ?? createMemoryTaskEventLog();
  const feed = new ChangeFeed(0, 100);
  const hub = new EventHub({ bus, taskEvents: log, feed, maxQueued: options.maxQueued ?? 1000, pageSize: 4 });
  /** What kCore does: store the event (it gets its seq), then publish it. */
  const emit = async (taskId: string, extra: Partial<BusEvent> = {}, publish = true) => {
    const stored = await log.append(taskId, { ...event({ owner: "alice", ...extra }) });
    if (publish) await bus.publish(stored);
    return stored;
  };
  return { bus, log, feed, hub, emit };
}

/** Takes `n` items (each within a second: a missing one fails instead of hanging). */
async function take(subscription: EventSubscription, n: number): Promise<(HubItem | null)[]> {
  const out: (HubItem | null)[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await Promise.race([subscription.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`item ${i + 1} of ${n} did not come`)), 1000))]));
  }
  return out;
}
const seqs = (items: (HubItem | null)[]) => items.map((item) => (item?.type === "event" ? item.event.seq : item?.type));

let hubs: EventHub[] = [];
afterEach(() => {
  for (const hub of hubs) hub.close();
  hubs = [];
});
const track = <T extends { hub: EventHub }>(value: T) => (hubs.push(value.hub), value);

describe("event hub", () => {
  it("applies the filter: type, agent, task", async () => {
    const { hub, bus } = track(setup());
    const byType = hub.subscribe(admin, filter({ type: ["AGENT_ERROR", "SYSTEM_STATUS"] }));
    const byAgent = hub.subscribe(admin, filter({ agent: "kExecutor:web" }));
    await bus.publish(event({ type: "TASK_PROGRESS", agent: "kExecutor:web" }));
    await bus.publish(event({ type: "SYSTEM_STATUS", payload: { n: 1 } }));
    const [a] = await take(byType, 1);
    const [b] = await take(byAgent, 1);
    expect(a).toMatchObject({ type: "event", event: { type: "SYSTEM_STATUS" } });
    expect(b).toMatchObject({ type: "event", event: { type: "TASK_PROGRESS", agent: "kExecutor:web" } });
  });

  it("gives a task's events to its owner and admins only; one without an owner to admins only", async () => {
    const { hub, bus, emit } = track(setup());
    const asAlice = hub.subscribe(alice, filter());
    const asBob = hub.subscribe(bob, filter());
    const asAdmin = hub.subscribe(admin, filter());
    await emit("t1"); // owner alice
    await bus.publish(event({ taskId: "t2", seq: 1 })); // owner unknown
    await bus.publish(event({ type: "SYSTEM_STATUS" })); // everyone's
    expect((await take(asAlice, 2)).map((i) => i?.type === "event" && i.event.taskId)).toEqual(["t1", undefined]);
    expect((await take(asBob, 1)).map((i) => i?.type === "event" && i.event.type)).toEqual(["SYSTEM_STATUS"]);
    expect((await take(asAdmin, 3)).map((i) => i?.type === "event" && (i.event.taskId ?? i.event.type))).toEqual(["t1", "t2", "SYSTEM_STATUS"]);
  });

  it("sends registry changes as REGISTRY_CHANGE to those who may see the record", async () => {
    const { hub, feed } = track(setup());
    const asAlice = hub.subscribe(alice, filter({ type: "REGISTRY_CHANGE" }));
    const asBob = hub.subscribe(bob, filter({ type: "REGISTRY_CHANGE" }));
    const record = (id: string, visibility: "private" | "public") => ({ id, name: id, type: "agent", status: "active", owner: "alice", visibility }) as unknown as ServiceRecord;
    feed.publish({ event: { event: "registered", revision: 1, service: record("kPlanner:private", "private") }, previous: null });
    feed.publish({ event: { event: "registered", revision: 2, service: record("kPlanner:main", "public") }, previous: null });
    const [first, second] = await take(asAlice, 2);
    expect(first).toMatchObject({ type: "event", event: { type: "REGISTRY_CHANGE", agent: "kPlanner:private", payload: { event: "registered", revision: 1, serviceId: "kPlanner:private" } } });
    expect(second).toMatchObject({ event: { payload: { serviceId: "kPlanner:main" } } });
    const [onlyPublic] = await take(asBob, 1);
    expect(onlyPublic).toMatchObject({ event: { payload: { serviceId: "kPlanner:main" } } });
    // The record itself (owner, auth, metadata) is not in the event.
    expect(JSON.stringify(onlyPublic)).not.toContain("alice");
  });

  it("a live subscriber that falls behind gets what was queued, then a slow_consumer notice, and ends", async () => {
    const { hub, bus } = track(setup({ maxQueued: 16 }));
    const slow = hub.subscribe(admin, filter());
    const fast = hub.subscribe(admin, filter());
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const e = event({ type: "SYSTEM_STATUS", payload: { i } });
      sent.push(e.id);
      await bus.publish(e);
      await fast.next();
    }
    const items = await take(slow, 18);
    expect(items.slice(0, 16).map((i) => i?.type === "event" && i.event.id)).toEqual(sent.slice(0, 16));
    expect(items[16]).toEqual({ type: "dropped", notice: { dropped: true, reason: "slow_consumer" } });
    expect(items[17]).toBeNull();
    expect(hub.size).toBe(1);
  });

  it("replays a task's stored events after `after`, then continues live: no gap, no duplicate", async () => {
    const { hub, emit } = track(setup());
    for (let i = 0; i < 6; i++) await emit("t1");
    const subscription = hub.subscribe(alice, filter({ task: "t1", after: 2 }));
    for (let i = 0; i < 4; i++) await emit("t1");
    expect(seqs(await take(subscription, 8))).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("live events racing a slow replay are neither lost nor doubled", async () => {
    const memory = createMemoryTaskEventLog();
    // A log whose reads take a while: the live events below arrive while the replay is still reading.
    const slowLog: TaskEventLog = {
      append: (taskId, e) => memory.append(taskId, e),
      eventsAfter: async (taskId, after, limit) => {
        const page = await memory.eventsAfter(taskId, after, limit);
        await new Promise((resolve) => setTimeout(resolve, 15));
        return page;
      },
    };
    const { hub, emit } = track(setup({ log: slowLog }));
    for (let i = 0; i < 10; i++) await emit("t1");
    const subscription = hub.subscribe(alice, filter({ task: "t1", after: 0 }));
    const live = (async () => {
      for (let i = 0; i < 10; i++) {
        await emit("t1");
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    })();
    const items = await take(subscription, 20);
    await live;
    expect(seqs(items)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("fills a gap left by a lost bus message from the log", async () => {
    const { hub, emit } = track(setup());
    const subscription = hub.subscribe(alice, filter({ task: "t1", after: 0 }));
    await emit("t1");
    await emit("t1", {}, false); // stored, but its bus message was lost
    await emit("t1");
    expect(seqs(await take(subscription, 3))).toEqual([1, 2, 3]);
  });

  it("a task subscription is paced by its reader from the log, not dropped", async () => {
    const { hub, emit } = track(setup({ maxQueued: 16 }));
    const subscription = hub.subscribe(alice, filter({ task: "t1", after: 0 }));
    for (let i = 0; i < 50; i++) await emit("t1");
    expect(seqs(await take(subscription, 50))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("a task filter with a type still follows every seq (the others skipped, not waited for)", async () => {
    const { hub, emit } = track(setup());
    const subscription = hub.subscribe(alice, filter({ task: "t1", after: 0, type: "AGENT_RESULT" }));
    await emit("t1", { type: "TASK_PROGRESS" });
    await emit("t1", { type: "AGENT_RESULT" });
    await emit("t1", { type: "TASK_PROGRESS" });
    await emit("t1", { type: "AGENT_RESULT" });
    expect(seqs(await take(subscription, 2))).toEqual([2, 4]);
  });

  it("does not replay a task to someone who may not see it", async () => {
    const { hub, emit, bus } = track(setup());
    await emit("t1");
    const subscription = hub.subscribe(bob, filter({ task: "t1", after: 0 }));
    await emit("t1");
    await bus.publish(event({ type: "SYSTEM_STATUS" }));
    hub.close();
    expect(await take(subscription, 2)).toEqual([{ type: "dropped", notice: { dropped: true, reason: "shutting_down", lastSeq: 0 } }, null]);
  });

  it("tells subscribers the node is shutting down", async () => {
    const { hub } = setup();
    const subscription = hub.subscribe(admin, filter());
    hub.close();
    expect(await take(subscription, 2)).toEqual([{ type: "dropped", notice: { dropped: true, reason: "shutting_down" } }, null]);
    expect(await hub.subscribe(admin, filter()).next()).toEqual({ type: "dropped", notice: { dropped: true, reason: "shutting_down" } });
  });
});
