// The ServiceBus from a real plugin process in a real node (issue 18, docs/plugins.md "ServiceBus"): `events.subscribe`
// delivers the node's events a plugin may see and never another owner's (a task's events, a task's notification to its
// owner); `events.broadcast` reaches `GET /api/events`; `llm.chat` goes through the gateway to the OpenAI fake;
// `memory.add` then `memory.search` find what was added (the deterministic embedding fake); a capability's output is
// checked against the manifest's output schema (502 `upstream_invalid_response`). The built host script is needed
// (`npx tsc -b packages/server` first).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, klp, RouteResponseSchema, TaskSchema, type BusEvent } from "@kai/protocol";
import { signPluginFolder } from "../../src/plugins/plugin-signature.js";
import { ANSWER } from "../gateway/fakes/fake-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../gateway/fakes/openai-fake.js";
import { EMBED_MODEL, startEmbeddingFake } from "../memory/embedding-fake.js";
import { eventually, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { makePlugin } from "./plugin-fixtures.js";

const publisher = klp.generateKeyPair();

const BUS_USER = `
const seen = [];
export default { capabilities: {
  listen: async (_input, kai) => { await kai.events.subscribe((event) => seen.push(event), ["USER_NOTIFICATION", "CONFIG_UPDATE"]); return "listening"; },
  seen: () => seen,
  shout: async ({ topic, data }, kai) => { await kai.events.broadcast(topic, data); return "sent"; },
  ask: async ({ text }, kai) => (await kai.llm.chat({ model: "${OPENAI_MODEL}", messages: [{ role: "user", content: text }] })).choices[0].message.content,
  remember: async ({ text }, kai) => kai.memory.add({ text, namespace: "plugin-notes" }),
  recall: async ({ q }, kai) => (await kai.memory.search({ q, namespace: "plugin-notes", limit: 3 })).results.map((result) => result.memory.text),
  ping: () => "pong",
  shaped: ({ good }) => (good ? { n: 1 } : { n: "one" }),
}};
`;

let dataDir: string;
let server: TestServer;
let openai: Awaited<ReturnType<typeof startOpenAIFake>>;
let embedder: Awaited<ReturnType<typeof startEmbeddingFake>>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "kai-plugin-bus-"));
  const folder = makePlugin(join(dataDir, "plugins"), "bus-user", {
    id: "bus-user", name: "Bus user", entrypoint: "main.mjs", version: "1.0.0",
    permissions: ["events_subscribe", "llm_access", "memory_read", "memory_write"],
    capabilities: ["listen", "seen", "shout", "ask", "remember", "recall", "ping"].map((name) => ({ name }))
      .concat([{ name: "shaped", output: { type: "object", required: ["n"], properties: { n: { type: "integer" } } } } as { name: string }]),
  }, { "main.mjs": BUS_USER });
  await signPluginFolder(folder, { id: "bus-user", version: "1.0.0" }, publisher);
  [openai, embedder] = await Promise.all([startOpenAIFake(), startEmbeddingFake()]);
  server = await startTestServer({ keepDataDir: dataDir, config: { rateLimit: { enabled: false }, plugins: { trustedKeys: [publisher.did] } } });
  for (const record of [
    registration({ id: "oai", provider: "openai", capabilities: ["llm_chat"], url: openai.url, metadata: { models: [OPENAI_MODEL] } }),
    registration({ id: "embedder", provider: "openai-compatible", capabilities: ["embeddings"], url: embedder.url, metadata: { models: [EMBED_MODEL] } }),
  ]) {
    const registered = await server.request("/api/services/register", { method: "POST", json: record });
    expect(registered.status, await registered.clone().text()).toBe(201);
  }
  const enabled = await server.request("/api/plugins/bus-user/enable", { method: "POST" });
  expect(enabled.status, await enabled.clone().text()).toBe(200);
}, 60_000);

afterAll(async () => {
  await server?.dispose();
  await Promise.all([openai?.close(), embedder?.close()]);
  rmSync(dataDir, { recursive: true, force: true });
});

async function route(name: string, request: unknown): Promise<Response> {
  return server.request(`/api/route/${name}`, { method: "POST", json: { request } });
}

async function answer(name: string, request: unknown): Promise<unknown> {
  const response = await route(name, request);
  expect(response.status, await response.clone().text()).toBe(200);
  return RouteResponseSchema.parse(await response.json()).response;
}

/** The SSE frames' data of `GET /api/events` as they come. */
function events(response: Response): { next(): Promise<BusEvent>; cancel(): Promise<void> } {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf("\n\n");
        if (end >= 0) {
          const data = buffer.slice(0, end).split("\n").find((line) => line.startsWith("data:"));
          buffer = buffer.slice(end + 2);
          if (data) return JSON.parse(data.slice(5)) as BusEvent;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buffer += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

describe("events", () => {
  it("a subscribed plugin hears the node's events, never another owner's; its broadcast reaches /api/events", async () => {
    expect(await answer("listen", {})).toBe("listening");
    const stream = await server.request("/api/events?type=USER_NOTIFICATION");
    expect(stream.status).toBe(200);
    const frames = events(stream);
    try {
      // A task of the admin's: its events and its completion notice (owner: the admin) are the admin's, not the plugin's.
      const created = await server.request("/api/agent/task", { method: "POST", json: { goal: "ping", capability: "ping", input: {} } });
      expect(created.status, await created.clone().text()).toBe(202);
      const taskId = TaskSchema.parse(((await created.json()) as { task: unknown }).task).id;
      // A configuration change: the node's, for any subscriber.
      const changed = await server.request("/api/config", { method: "PATCH", json: { settings: { "logging.level": "debug" } } });
      expect(changed.status, await changed.clone().text()).toBe(200);
      expect(await answer("shout", { topic: "greetings", data: { hello: "world" } })).toBe("sent");
      const found: BusEvent[] = [];
      const deadline = Date.now() + 10_000;
      while (!(found.some((event) => event.payload.kind === "plugin_broadcast") && found.some((event) => event.payload.taskId === taskId)) && Date.now() < deadline) {
        const next = await Promise.race([frames.next(), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), deadline - Date.now()))]);
        if (next) found.push(next);
      }
      const broadcast = found.find((event) => event.payload.kind === "plugin_broadcast");
      expect(broadcast).toMatchObject({ type: "USER_NOTIFICATION", agent: "plugin:bus-user", payload: { plugin: "bus-user", topic: "greetings", data: { hello: "world" } } });
      // The admin's stream carried the task's notice to its owner: the plugin was subscribed to that type, and never got it.
      expect(found.find((event) => event.payload.taskId === taskId)).toMatchObject({ owner: "admin", payload: { kind: "task_completed" } });
      const seen = await eventually(async () => {
        const list = (await answer("seen", {})) as BusEvent[];
        return list.some((event) => event.type === "CONFIG_UPDATE") && list.some((event) => event.payload.kind === "plugin_broadcast") ? list : undefined;
      });
      expect(seen.filter((event) => event.taskId !== undefined || event.owner !== undefined)).toEqual([]);
      expect(seen.some((event) => JSON.stringify(event).includes(taskId))).toBe(false);
    } finally {
      await frames.cancel();
    }
  });
});

describe("llm.chat and memory", () => {
  it("chats through the gateway with the OpenAI fake", async () => {
    expect(await answer("ask", { text: "hello?" })).toBe(ANSWER);
    expect(JSON.stringify(openai.last("/v1/chat/completions")?.body)).toContain("hello?");
  });

  it("adds a memory and finds it by meaning in its namespace", async () => {
    expect(await answer("remember", { text: "the spare key is under the blue flower pot" })).toMatchObject({ created: true });
    await answer("remember", { text: "the printer needs A4 paper" });
    expect(((await answer("recall", { q: "where is the spare key" })) as string[])[0]).toBe("the spare key is under the blue flower pot");
  });
});

describe("a capability's output", () => {
  it("is checked against the manifest's output schema: a wrong one is 502 upstream_invalid_response", async () => {
    expect(await answer("shaped", { good: true })).toEqual({ n: 1 });
    const wrong = await route("shaped", { good: false });
    expect(wrong.status).toBe(502);
    const body = ErrorBodySchema.parse(await wrong.json());
    expect(body.error.code).toBe("upstream_invalid_response");
    expect(body.error.message).toMatch(/output that does not match the schema it declares: output\/n must be integer/);
  });
});
