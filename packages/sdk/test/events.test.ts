/**
 * `client.events.stream` against a real node: a task's kCore events end to end (a task created through the API,
 * streamed from its first event), the filter, a refused scope, and the resume: the node restarts mid-stream on
 * the same data directory and port, and the stream continues after the last seq it received with nothing missed
 * and nothing twice.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, KaiApiError, type BusStreamItem, type KaiClient } from "@kai/sdk";
import { startServer } from "@kai/server";

type Running = Awaited<ReturnType<typeof startServer>>;
let node: Running;
let dataDir: string;
let port: number;
let admin: KaiClient;

const start = (at = 0) => startServer({ dataDir, port: at, host: "127.0.0.1", quiet: true, env: {}, config: { rateLimit: { enabled: false }, logging: { file: false } } });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "kai-sdk-events-"));
  node = await start();
  port = Number(new URL(node.url).port);
  admin = createClient({ url: node.url, token: node.adminToken });
}, 60_000);
afterAll(async () => {
  await node?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Takes items until `stop` says so (each within 10 s). */
async function collect(iterator: AsyncIterator<BusStreamItem>, stop: (items: BusStreamItem[]) => boolean): Promise<BusStreamItem[]> {
  const items: BusStreamItem[] = [];
  while (!stop(items)) {
    const next = await Promise.race([iterator.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no item after ${items.length}`)), 10_000))]);
    if (next.done) break;
    items.push(next.value);
  }
  return items;
}

describe("client.events.stream", () => {
  it("streams a task's events from its first one (kCore, end to end)", async () => {
    const task = await admin.tasks.create({ goal: "nobody can do this", capability: `sdk_events_${randomUUID().slice(0, 8)}` });
    const controller = new AbortController();
    const stream = await admin.events.stream({ task: task.id, after: 0 }, { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    // A capability nobody offers: the task fails; its last event says so.
    const items = await collect(iterator, (seen) => seen.some((item) => item.type === "event" && /failed/.test(JSON.stringify(item.event.payload))));
    controller.abort();
    const events = items.flatMap((item) => (item.type === "event" ? [item.event] : []));
    expect(events.length).toBeGreaterThan(0);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.every((e) => e.taskId === task.id)).toBe(true);
  });

  it("refuses a token without agents:read with the node's error", async () => {
    const { token } = await admin.tokens.create({ scopes: ["services:read"], owner: "alice", ttl: "1h" });
    const client = createClient({ url: node.url, token });
    await expect(client.events.stream({})).rejects.toBeInstanceOf(KaiApiError);
  });

  it("resumes a task stream after a node restart from the last seq: nothing missed, nothing twice", async () => {
    const taskId = `t-${randomUUID()}`;
    const store = node.mesh.taskEvents as { createTask?(record: unknown, events: unknown[]): Promise<unknown> };
    const now = new Date().toISOString();
    await store.createTask?.(
      {
        task: { id: taskId, goal: "resume test", state: "completed", owner: "root", createdAt: now, updatedAt: now, steps: [], lastSeq: 0 },
        spec: { input: {}, principal: { owner: "root", scopes: ["admin"], tokenId: "test" }, excluded: {}, answers: {} },
      },
      [],
    );
    const emit = async (current: Running, i: number) => {
      const stored = await current.mesh.taskEvents.append(taskId, { id: randomUUID(), type: "TASK_PROGRESS", payload: { i }, timestamp: new Date().toISOString() });
      await current.mesh.bus.publish(stored);
    };
    for (let i = 1; i <= 3; i++) await emit(node, i);

    const controller = new AbortController();
    const stream = await admin.events.stream({ task: taskId, after: 0 }, { signal: controller.signal, minDelayMs: 50, maxDelayMs: 200 });
    const iterator = stream[Symbol.asyncIterator]();
    const before = await collect(iterator, (items) => items.length >= 3);

    await node.close();
    node = await start(port);
    for (let i = 4; i <= 6; i++) await emit(node, i);
    const after = await collect(iterator, (items) => items.filter((item) => item.type === "event").length >= 3);
    controller.abort();

    expect(after[0]).toMatchObject({ type: "dropped", resumed: true });
    const seqs = [...before, ...after].flatMap((item) => (item.type === "event" ? [item.event.seq] : []));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
  }, 60_000);
});
