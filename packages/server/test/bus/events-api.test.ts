/**
 * `GET /api/events` (SSE) and `/ws/events` through a real server: authentication and scope, filters, a task
 * stream resumed with Last-Event-ID (replay from the stored events, then live: no gap, no duplicate), the
 * WebSocket's query filter and subscribe message, and both in the OpenAPI document. One server for the file.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { BusEvent } from "@kai/protocol";
import { mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let alice: string;
let noScope: string;

beforeAll(async () => {
  // Five streams per token: the quota test below reaches the limit without opening a hundred.
  server = await startTestServer({ config: { bus: { maxStreamsPerToken: 5 } } });
  alice = await mintToken(server, ["agents:read"], "alice");
  noScope = await mintToken(server, ["services:read"], "alice");
}, 60_000);
afterAll(async () => {
  await server?.dispose();
});

const base = (overrides: Partial<BusEvent> = {}) => ({ id: randomUUID(), type: "TASK_PROGRESS" as const, payload: {}, timestamp: new Date().toISOString(), owner: "alice", ...overrides });

/** Reads SSE frames from a response as they come (comment lines and `retry:` skipped). */
function frames(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next(): Promise<{ id?: string; event?: string; data: unknown }> {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split("\n")) {
            const colon = line.indexOf(":");
            if (colon <= 0) continue;
            fields[line.slice(0, colon)] = line.slice(colon + 1).trimStart();
          }
          if (fields.data === undefined) continue;
          return { ...(fields.id ? { id: fields.id } : {}), ...(fields.event ? { event: fields.event } : {}), data: JSON.parse(fields.data) };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

/**
 * A finished task of alice's, so that its events can be stored: the task store keeps events only for tasks it has
 * (kCore's store; the memory log takes any). Finished, so kCore never runs it.
 */
const tasksMade = new Set<string>();
async function ensureTask(taskId: string): Promise<void> {
  const store = server.mesh.taskEvents as { createTask?(record: unknown, events: unknown[]): Promise<unknown> };
  if (!store.createTask || tasksMade.has(taskId)) return;
  tasksMade.add(taskId);
  const now = new Date().toISOString();
  await store.createTask(
    {
      task: { id: taskId, goal: "events test", state: "completed", owner: "alice", createdAt: now, updatedAt: now, steps: [], lastSeq: 0 },
      spec: { input: {}, principal: { owner: "alice", scopes: ["tasks:run"], tokenId: "test" }, excluded: {}, answers: {} },
    },
    [],
  );
}

/** What kCore does: store the event (it gets its seq), then publish it. */
async function publishStored(taskId: string, extra: Partial<BusEvent> = {}) {
  await ensureTask(taskId);
  const stored = await server.mesh.taskEvents.append(taskId, base(extra));
  await server.mesh.bus.publish(stored);
  return stored;
}

describe("GET /api/events", () => {
  it("needs a token with agents:read", async () => {
    expect((await server.request("/api/events", { token: null })).status).toBe(401);
    const refused = await server.request("/api/events", { token: noScope });
    expect(refused.status).toBe(403);
  });

  it("refuses a filter it cannot read", async () => {
    const response = await server.request("/api/events?type=NOT_A_TYPE", { token: alice });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
  });

  it("streams the events that match the filter, as `event: bus`", async () => {
    const response = await server.request("/api/events?type=SYSTEM_STATUS", { token: alice });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const stream = frames(response);
    // The subscription exists once the headers are out (it is made before the first byte).
    await server.mesh.bus.publish(base({ type: "TASK_PROGRESS", owner: undefined }));
    await server.mesh.bus.publish(base({ type: "SYSTEM_STATUS", owner: undefined, payload: { ok: true } }));
    const frame = await stream.next();
    expect(frame.event).toBe("bus");
    expect(frame.data).toMatchObject({ type: "SYSTEM_STATUS", payload: { ok: true } });
    await stream.cancel();
  });

  it("resumes a task stream after Last-Event-ID <taskId>:<seq>, then continues live: no gap, no duplicate", async () => {
    const task = `t-${randomUUID()}`;
    for (let i = 0; i < 3; i++) await publishStored(task);
    const response = await server.request(`/api/events?task=${task}`, { token: alice, headers: { "last-event-id": `${task}:1` } });
    const stream = frames(response);
    const first = await stream.next();
    const second = await stream.next();
    await publishStored(task);
    const third = await stream.next();
    expect([first.id, second.id, third.id]).toEqual([`${task}:2`, `${task}:3`, `${task}:4`]);
    expect(third.data).toMatchObject({ taskId: task, seq: 4 });
    await stream.cancel();
  });

  it("does not give another owner's task events to a non-admin", async () => {
    const bob = await mintToken(server, ["agents:read"], "bob");
    const task = `t-${randomUUID()}`;
    await publishStored(task);
    const response = await server.request(`/api/events?task=${task}&after=0`, { token: bob });
    const stream = frames(response);
    // Bob's stream stays empty for alice's task; a SYSTEM_STATUS on a second stream proves events flow meanwhile.
    const other = frames(await server.request("/api/events?type=SYSTEM_STATUS", { token: bob }));
    await publishStored(task);
    await server.mesh.bus.publish(base({ type: "SYSTEM_STATUS", owner: undefined }));
    expect((await other.next()).data).toMatchObject({ type: "SYSTEM_STATUS" });
    const race = await Promise.race([stream.next(), new Promise((resolve) => setTimeout(() => resolve("nothing"), 200))]);
    expect(race).toBe("nothing");
    await stream.cancel();
    await other.cancel();
  });

  it("refuses a token's stream beyond bus.maxStreamsPerToken with 429, and takes one again once another closed", async () => {
    const greedy = await mintToken(server, ["agents:read"], "greedy");
    const streams = await Promise.all(Array.from({ length: 5 }, () => server.request("/api/events", { token: greedy })));
    expect(streams.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const refused = await server.request("/api/events", { token: greedy });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    await streams[0]!.body!.cancel();
    let again: Response | undefined;
    // The server notices the closed connection a moment later.
    for (let i = 0; i < 100 && again?.status !== 200; i++) {
      await again?.body?.cancel();
      again = await server.request("/api/events", { token: greedy });
      if (again.status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(again?.status).toBe(200);
    for (const response of [...streams.slice(1), again!]) await response.body!.cancel();
  });

  it("gives a task's owner its events (kCore stamps the owner), and not another reader", async () => {
    const carol = await mintToken(server, ["tasks:run", "agents:read"], "carol");
    // alice reads every event she may see, from before carol's task exists.
    const aliceStream = frames(await server.request("/api/events?type=TASK_PROGRESS&type=SYSTEM_STATUS", { token: alice }));
    const created = await server.request("/api/agent/task", { method: "POST", token: carol, json: { goal: "nobody can", capability: "no_such_capability" } });
    expect(created.status).toBe(202);
    const { task } = (await created.json()) as { task: { id: string } };
    const carolStream = frames(await server.request(`/api/events?task=${task.id}&after=0`, { token: carol }));
    expect((await carolStream.next()).data).toMatchObject({ taskId: task.id, seq: 1, owner: "carol", type: "TASK_PROGRESS" });
    await carolStream.cancel();
    await expect.poll(async () => ((await (await server.request(`/api/agent/task/${task.id}`, { token: carol })).json()) as { task: { state: string } }).task.state).toBe("failed");
    // Every event of carol's task went out before this marker; alice's first frame is the marker.
    await server.mesh.bus.publish(base({ type: "SYSTEM_STATUS", owner: undefined, payload: { marker: task.id } }));
    expect((await aliceStream.next()).data).toMatchObject({ type: "SYSTEM_STATUS", payload: { marker: task.id } });
    await aliceStream.cancel();
  });

  it("shows a registration as REGISTRY_CHANGE to those who may see the record, and not a private one of someone else", async () => {
    const response = await server.request("/api/events?type=REGISTRY_CHANGE", { token: alice });
    const stream = frames(response);
    const hidden = await server.request("/api/services/register", { method: "POST", json: registration({ id: `bob-private-${randomUUID()}`, owner: "bob", visibility: "private" }) });
    expect(hidden.status).toBe(201);
    const id = `public-${randomUUID()}`;
    expect((await server.request("/api/services/register", { method: "POST", json: registration({ id, owner: "bob", visibility: "public" }) })).status).toBe(201);
    // The private registration came first: had it reached alice, it would be the first frame.
    const frame = await stream.next();
    expect(frame.data).toMatchObject({ type: "REGISTRY_CHANGE", payload: { event: "registered", serviceId: id } });
    expect(JSON.stringify(frame.data)).not.toContain("metadata");
    await stream.cancel();
  });
});

describe("/ws/events", () => {
  const connect = (query: string) =>
    new Promise<{ socket: WebSocket; messages: unknown[]; next(): Promise<unknown> }>((resolve, reject) => {
      const socket = new WebSocket(`${server.url.replace("http", "ws")}/ws/events?${query}`);
      const messages: unknown[] = [];
      const waiters: Array<(message: unknown) => void> = [];
      socket.on("message", (data) => {
        const message = JSON.parse(data.toString()) as unknown;
        const waiter = waiters.shift();
        if (waiter) waiter(message);
        else messages.push(message);
      });
      socket.once("error", reject);
      socket.once("unexpected-response", (_request, response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
      socket.once("open", () =>
        resolve({
          socket,
          messages,
          next: () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((done) => waiters.push(done))),
        }),
      );
    });

  it("refuses an upgrade without agents:read", async () => {
    await expect(connect(`token=${noScope}`)).rejects.toThrow("403");
  });

  it("sends events matching the query's filter, and replaces it on a subscribe message (a task replays first)", async () => {
    const client = await connect(`token=${alice}&type=SYSTEM_STATUS`);
    await server.mesh.bus.publish(base({ type: "AGENT_ERROR", owner: undefined }));
    await server.mesh.bus.publish(base({ type: "SYSTEM_STATUS", owner: undefined }));
    expect(await client.next()).toMatchObject({ type: "event", event: { type: "SYSTEM_STATUS" } });

    const task = `t-${randomUUID()}`;
    await publishStored(task);
    await publishStored(task);
    client.socket.send(JSON.stringify({ type: "subscribe", filter: { task, after: 0 } }));
    const replayed = [await client.next(), await client.next()];
    expect(replayed).toMatchObject([{ event: { taskId: task, seq: 1 } }, { event: { taskId: task, seq: 2 } }]);
    await publishStored(task);
    expect(await client.next()).toMatchObject({ type: "event", event: { taskId: task, seq: 3 } });

    client.socket.send("not json");
    expect(await client.next()).toMatchObject({ type: "error", error: { code: "validation_failed" } });
    client.socket.close();
  });

  it("answers plain HTTP with 426 upgrade_required", async () => {
    const response = await server.request("/ws/events", { token: alice });
    expect(response.status).toBe(426);
  });
});

describe("OpenAPI", () => {
  it("documents GET /api/events and /ws/events", async () => {
    const document = (await (await server.request("/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(document.paths["/api/events"]).toBeDefined();
    expect(document.paths["/ws/events"]).toMatchObject({ get: { "x-client-messages": expect.anything(), "x-server-messages": expect.anything() } });
  });
});
