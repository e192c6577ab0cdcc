/**
 * The node's own events on the bus (bus/publishers/) through a real node: a task's owner is notified when it asks a
 * question and when it completes or fails (and no one else is); agents' heartbeats become HEARTBEAT, at most one per
 * agent per look, a private agent's to its owner only; SYSTEM_STATUS summaries and the vault locked/unlocked, with
 * admins (only) notified of the lock; and USER_NOTIFICATION reaching a client over `GET /api/events`. Subscribers are
 * the node's own event hub (what SSE and WebSocket drain), with the access of the token they stand for.
 * One server for the file. Plus the rules that make each event once in a cluster (a follower publishes nothing
 * periodic; the database's state and configuration changes from the instance that saw or made them), on the parts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp, signAgentManifest, type BusEvent, type BusEventFilterInput, BusEventFilterSchema, TaskSchema, type Task } from "@kai/protocol";
import { eventually, mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import type { EventSubscription } from "../../src/bus/event-hub.js";
import { HttpAgent } from "../agents/kcore/http-agent.js";
import { HeartbeatEvents } from "../../src/bus/publishers/heartbeat-events.js";
import { SystemStatusPublisher } from "../../src/bus/publishers/system-status.js";
import { ConfigUpdates } from "../../src/bus/publishers/config-updates.js";
import { taskNotification } from "../../src/bus/publishers/task-notifications.js";
import { ADMINS_AUDIENCE } from "../../src/bus/publishers/system-event.js";
import { createInProcessBus } from "../../src/bus/in-process-bus.js";
import type { SignalHandler, SignalTopic } from "../../src/cluster/cluster-types.js";

let server: TestServer;
let alice: string;
const agents: HttpAgent[] = [];
const subscriptions: EventSubscription[] = [];

function subscribe(owner: string, filter: BusEventFilterInput, admin = false): EventSubscription {
  const subscription = server.mesh.events.subscribe({ owner, admin }, BusEventFilterSchema.parse(filter));
  subscriptions.push(subscription);
  return subscription;
}

/** The next event of `subscription` that `match` accepts (others are skipped); fails after a while. */
async function nextEvent(subscription: EventSubscription, match: (event: BusEvent) => boolean = () => true, timeoutMs = 10_000): Promise<BusEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error("no matching event");
    const item = await Promise.race([subscription.next(), new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), left))]);
    if (item === "timeout" || item === null) throw new Error(`no matching event (${item === null ? "ended" : "timeout"})`);
    if (item.type === "event" && match(item.event)) return item.event;
  }
}

/** Everything queued on `subscription` right now (after giving the bus a moment to deliver). */
async function drain(subscription: EventSubscription): Promise<BusEvent[]> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const out: BusEvent[] = [];
  for (;;) {
    const item = await Promise.race([subscription.next(), new Promise<"none">((resolve) => setImmediate(() => resolve("none")))]);
    if (item === "none" || item === null) return out;
    if (item.type === "event") out.push(item.event);
  }
}

async function createTask(body: unknown): Promise<Task> {
  const response = await server.request("/api/agent/task", { method: "POST", json: body, token: alice });
  const text = await response.text();
  expect(response.status, text).toBe(202);
  return TaskSchema.parse((JSON.parse(text) as { task: unknown }).task);
}

/** Registers an agent record with a lease (`ttl`), as `token`'s. */
async function registerAgent(id: string, token: string, visibility: "public" | "private"): Promise<void> {
  const manifest = signAgentManifest(
    { id, name: id, skills: [{ id: "s0", name: "echo", capability: "echo_text" }], endpoint: { transport: "http", url: "http://127.0.0.1:9/step" }, ttl: 60, visibility },
    klp.generateKeyPair(),
  );
  const response = await server.request("/api/agents", { method: "POST", json: manifest, token });
  expect(response.status, await response.text()).toBe(201);
}

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
}, 60_000);
afterAll(async () => {
  for (const subscription of subscriptions) subscription.close();
  await server?.dispose();
  for (const agent of agents) await agent.close();
});

describe("USER_NOTIFICATION for a task's owner", () => {
  it("tells the owner (only) that a step waits for an answer, then that the task completed, linking to it", async () => {
    const echo = await HttpAgent.start("kExecutor:asker", (step) => (step.answer === undefined ? { body: { inputRequired: { prompt: "Which colour?" } } } : { body: { output: { colour: step.answer } } }));
    agents.push(echo);
    await echo.register(server, alice, ["ask_colour"]);
    const mine = subscribe("alice", { type: "USER_NOTIFICATION" });
    const bobs = subscribe("bob", { type: "USER_NOTIFICATION" });
    const task = await createTask({ goal: "ask", plan: { goal: "ask", steps: [{ id: "ask", capability: "ask_colour", input: {} }] } });

    const asked = await nextEvent(mine, (event) => event.payload.taskId === task.id);
    expect(asked).toMatchObject({ type: "USER_NOTIFICATION", owner: "alice", payload: { kind: "task_input_required", taskId: task.id, step: "ask", link: `/agents/tasks/${task.id}` } });
    // The question itself stays behind the task's API, where access is checked.
    expect(JSON.stringify(asked.payload)).not.toContain("Which colour?");

    const answered = await server.request(`/api/agent/task/${task.id}/answer`, { method: "POST", json: { answer: "blue" }, token: alice });
    expect(answered.status, await answered.text()).toBeLessThan(300);
    const done = await nextEvent(mine, (event) => event.payload.taskId === task.id && event.payload.kind !== "task_input_required");
    expect(done.payload).toMatchObject({ kind: "task_completed", title: "Task completed" });
    expect(JSON.stringify(done.payload)).not.toContain("blue");
    expect((await drain(bobs)).filter((event) => event.payload.taskId === task.id)).toEqual([]);
  });

  it("tells the owner a task failed, with its error code", async () => {
    const broken = await HttpAgent.start("kExecutor:broken", () => ({ status: 500, body: { error: "boom" } }));
    agents.push(broken);
    await broken.register(server, alice, ["break_things"]);
    const mine = subscribe("alice", { type: "USER_NOTIFICATION" });
    const task = await createTask({ goal: "fail", plan: { goal: "fail", steps: [{ id: "only", capability: "break_things", input: {}, retries: 0 }] } });
    const failed = await nextEvent(mine, (event) => event.payload.taskId === task.id, 20_000);
    expect(failed).toMatchObject({ owner: "alice", payload: { kind: "task_failed", title: "Task failed" } });
    expect(failed.payload.message).toMatch(/^The task failed/);
  }, 30_000);
});

describe("which task events call for a notification", () => {
  const progress = (payload: Record<string, unknown>, extras: Partial<BusEvent> = {}): BusEvent => ({ id: "e", type: "TASK_PROGRESS", taskId: "t1", seq: 3, owner: "alice", payload, timestamp: new Date().toISOString(), ...extras });

  it("the task's end (completed, failed, canceled, rejected) and a step's question; nothing else", () => {
    expect(taskNotification(progress({ state: "canceled" }))?.payload).toMatchObject({ kind: "task_canceled", taskId: "t1" });
    expect(taskNotification(progress({ state: "rejected" }))?.payload).toMatchObject({ kind: "task_rejected" });
    expect(taskNotification(progress({ state: "failed", error: { code: "review_rejected", message: "secret detail" } }))?.payload.message).toBe("The task failed (review_rejected).");
    expect(taskNotification(progress({ state: "working", step: "a", stepState: "input-required", prompt: "?" }))?.payload).toMatchObject({ kind: "task_input_required", step: "a" });
    for (const quiet of [progress({ state: "working" }), progress({ state: "working", step: "a", stepState: "failed" }), progress({ state: "completed" }, { owner: undefined }), progress({ state: "completed" }, { type: "AGENT_RESULT" })]) {
      expect(taskNotification(quiet)).toBeNull();
    }
    // The notification is not a task event: no seq (it is not stored), the owner kept, the task only in the payload.
    const note = taskNotification(progress({ state: "completed", result: { secret: 1 } }))!;
    expect(note).toMatchObject({ type: "USER_NOTIFICATION", owner: "alice" });
    expect(note.seq).toBeUndefined();
    expect(note.taskId).toBeUndefined();
    expect(JSON.stringify(note)).not.toContain("secret");
  });
});

describe("HEARTBEAT for agents", () => {
  it("announces an agent's heartbeats at most once per look, and a private agent's to its owner and admins only", async () => {
    const beats = await mintToken(server, ["services:heartbeat"], "alice");
    await registerAgent("kWorker:public-beats", alice, "public");
    await registerAgent("kWorker:private-beats", alice, "private");
    await eventually(async () => server.publishers.heartbeats.size >= 2);
    // Registration counts as a beat: that look is announced and delivered before the subscribers below attach.
    server.publishers.heartbeats.scan();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const alices = subscribe("alice", { type: "HEARTBEAT" });
    const bobs = subscribe("bob", { type: "HEARTBEAT" });
    const admins = subscribe("admin", { type: "HEARTBEAT" }, true);
    for (let i = 0; i < 3; i++) {
      for (const id of ["kWorker:public-beats", "kWorker:private-beats"]) {
        const beat = await server.request(`/api/services/${encodeURIComponent(id)}/heartbeat`, { method: "POST", json: {}, token: beats });
        expect(beat.status, await beat.text()).toBe(200);
      }
    }
    expect(server.publishers.heartbeats.scan()).toBe(2);
    // Nothing new since: the next look publishes nothing.
    expect(server.publishers.heartbeats.scan()).toBe(0);
    const ids = (events: BusEvent[]) => events.map((event) => event.agent).sort();
    expect(ids(await drain(alices))).toEqual(["kWorker:private-beats", "kWorker:public-beats"]);
    expect(ids(await drain(admins))).toEqual(["kWorker:private-beats", "kWorker:public-beats"]);
    const seenByBob = await drain(bobs);
    expect(ids(seenByBob)).toEqual(["kWorker:public-beats"]);
    expect(seenByBob[0]!.payload).toMatchObject({ serviceId: "kWorker:public-beats", status: "active" });
  });
});

describe("SYSTEM_STATUS and admins' notifications", () => {
  it("publishes a summary on the leader's look", async () => {
    const status = subscribe("alice", { type: "SYSTEM_STATUS" });
    await server.publishers.status.tick();
    const summary = await nextEvent(status, (event) => event.payload.kind === "summary");
    expect(summary.payload).toMatchObject({ instances: 1, bus: "memory" });
    expect(summary.owner).toBeUndefined();
  });

  it("reaches a client over GET /api/events", async () => {
    const controller = new AbortController();
    const response = await server.request("/api/events?type=SYSTEM_STATUS", { token: alice, signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    // Published until the stream has attached (the request answered before the hub subscription may exist).
    const publishing = setInterval(() => void server.publishers.status.tick(), 200);
    try {
      while (!text.includes('"kind":"summary"')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } finally {
      clearInterval(publishing);
      controller.abort();
    }
    expect(text).toContain('"type":"SYSTEM_STATUS"');
  });

  it("tells everyone the vault was locked and unlocked, and notifies admins (no one else) of the lock", async () => {
    const status = subscribe("alice", { type: "SYSTEM_STATUS" });
    const alicesNotes = subscribe("alice", { type: "USER_NOTIFICATION" });
    const adminNotes = subscribe("admin", { type: "USER_NOTIFICATION" }, true);
    const locked = await server.request("/api/vault/lock", { method: "POST" });
    expect(locked.status, await locked.text()).toBe(200);
    try {
      expect((await nextEvent(status, (event) => event.payload.kind === "vault_locked")).payload.instance).toBeTypeOf("string");
      const note = await nextEvent(adminNotes, (event) => event.payload.kind === "vault_locked");
      expect(note.owner).toBe(ADMINS_AUDIENCE);
    } finally {
      const unlocked = await server.request("/api/vault/unlock", { method: "POST" });
      expect(unlocked.status, await unlocked.text()).toBe(200);
    }
    await nextEvent(status, (event) => event.payload.kind === "vault_unlocked");
    expect((await drain(alicesNotes)).filter((event) => event.payload.kind === "vault_locked")).toEqual([]);
  });
});

describe("once in a cluster", () => {
  const follower = { isLeader: false, epoch: 0, onChange: () => () => undefined };

  it("a follower publishes no summary, membership or heartbeat look", async () => {
    const bus = createInProcessBus(() => undefined);
    const seen: BusEvent[] = [];
    bus.subscribe((event) => seen.push(event));
    const status = new SystemStatusPublisher({ bus, cluster: { instanceId: "b", instanceName: "b", leadership: follower, members: async () => [] }, intervalMs: 60_000, onError: () => undefined });
    await status.tick();
    const beats = new HeartbeatEvents({
      bus,
      leases: { get: () => ({ id: "kA:x", owner: "o", visibility: "public", status: "active", revision: 1, ttlMs: 1000, expiresAt: Date.now() + 1000, lastBeat: Date.now(), offlineSince: null, busy: false }) },
      listAgents: async () => [{ id: "kA:x" }],
      feed: { subscribe: () => () => undefined },
      isLeader: () => false,
      intervalMs: 60_000,
      onError: () => undefined,
    });
    await beats.start();
    expect(beats.scan()).toBe(0);
    beats.stop();
    await bus.close();
    expect(seen).toEqual([]);
  });

  it("the leader announces instances that joined and left between two looks", async () => {
    const bus = createInProcessBus(() => undefined);
    const seen: BusEvent[] = [];
    bus.subscribe((event) => seen.push(event));
    const member = (instanceId: string) => ({ instanceId, name: instanceId, url: null, version: "0", startedAt: "", lastSeenAt: "", leader: false, info: {} });
    let members = [member("a"), member("b")];
    const status = new SystemStatusPublisher({ bus, cluster: { instanceId: "a", instanceName: "a", leadership: { ...follower, isLeader: true }, members: async () => members }, intervalMs: 60_000, onError: () => undefined });
    await status.tick();
    members = [member("a"), member("c")];
    await status.tick();
    await bus.close();
    const kinds = seen.map((event) => [event.payload.kind, (event.payload.member as { name?: string } | undefined)?.name]);
    expect(kinds).toEqual([["summary", undefined], ["instance_joined", "c"], ["instance_left", "b"], ["summary", undefined]]);
  });

  it("each instance tells when the shared database stops answering it, and when it is back, once per change", async () => {
    const bus = createInProcessBus(() => undefined);
    const seen: BusEvent[] = [];
    bus.subscribe((event) => seen.push(event));
    let reachable = true;
    const storage = { ping: () => (reachable ? Promise.resolve() : Promise.reject(new Error("connection refused"))) };
    const status = new SystemStatusPublisher({ bus, cluster: { instanceId: "b", instanceName: "b", leadership: follower, members: async () => [] }, storage, intervalMs: 60_000, onError: () => undefined });
    await status.checkStorage();
    reachable = false;
    await status.checkStorage();
    await status.checkStorage();
    reachable = true;
    await status.checkStorage();
    await bus.close();
    expect(seen.map((event) => [event.payload.kind, event.payload.instance])).toEqual([["storage_unavailable", "b"], ["storage_available", "b"]]);
    expect(JSON.stringify(seen)).not.toContain("connection refused");
  });

  it("a configuration change is announced by the instance that made it, naming the key, never a value", async () => {
    const bus = createInProcessBus(() => undefined);
    const seen: BusEvent[] = [];
    bus.subscribe((event) => seen.push(event));
    const handlers = new Map<SignalTopic, SignalHandler[]>();
    const signals = {
      subscribe(topic: SignalTopic, handler: SignalHandler) {
        handlers.set(topic, [...(handlers.get(topic) ?? []), handler]);
        return () => undefined;
      },
    };
    const updates = new ConfigUpdates({ bus, instanceName: "a", signals, onError: () => undefined });
    updates.start();
    const send = (topic: SignalTopic, payload: Record<string, unknown>, fromSelf: boolean) => {
      for (const handler of handlers.get(topic) ?? []) handler(payload, { origin: fromSelf ? "a" : "b", fromSelf });
    };
    send("user_changed", { roles: true }, true);
    send("user_changed", { roles: true }, false);
    send("user_changed", { userId: "u1" }, true);
    send("federation_changed", { peers: true }, true);
    send("vault_changed", { reason: "rotated" }, true);
    await new Promise((resolve) => setImmediate(resolve));
    await bus.close();
    expect(seen.map((event) => [event.type, event.payload.key])).toEqual([
      ["CONFIG_UPDATE", "auth.roles"],
      ["CONFIG_UPDATE", "federation.peers"],
      ["CONFIG_UPDATE", "vault.keyring"],
    ]);
    expect(seen[2]!.payload).toEqual({ key: "vault.keyring", reason: "rotated", instance: "a" });
  });
});
