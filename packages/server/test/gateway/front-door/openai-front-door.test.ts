/**
 * The OpenAI-compatible front door end to end: a real server, real fake upstreams over sockets, and the
 * official `openai` npm client, unchanged, as the caller. Checks what callers rely on: answers in OpenAI's
 * shape, streaming, which service served each answer (headers), pinning with `<serviceId>/<model>`,
 * failover, honest truncated streams, cancellation reaching the upstream, hot registration, visibility,
 * and credentials injected from the vault without ever reaching a log or an answer.
 */
import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { startOpenAIFake, OPENAI_MODEL } from "../fakes/openai-fake.js";
import { ANSWER, type FakeUpstream } from "../fakes/fake-server.js";

const KEY = `sk-front-${randomBytes(12).toString("hex")}`;
let server: TestServer;
let primary: FakeUpstream;
let backup: FakeUpstream;
let aliceToken: string;
let client: OpenAI;

async function register(body: Record<string, unknown>, token?: string): Promise<void> {
  const response = await server.request("/api/services/register", { method: "POST", json: registration(body), ...(token ? { token } : {}) });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
}

beforeAll(async () => {
  primary = await startOpenAIFake({ requireKey: KEY });
  backup = await startOpenAIFake({ requireKey: KEY });
  server = await startTestServer({ config: { rateLimit: { enabled: false }, vault: { pbkdf2Iterations: 10_000 }, gateway: { backoff: { initialMs: 5, maxMs: 20 } } } });
  // Priority 1 before 2: the primary answers while healthy. The raw key goes to the vault (auth.token).
  await register({ id: "primary", provider: "openai", url: primary.url, auth: { type: "bearer_token", token: KEY }, metadata: { models: [OPENAI_MODEL], priority: 1 } });
  await register({ id: "backup", provider: "openai", url: backup.url, auth: { type: "bearer_token", token: KEY }, metadata: { models: [OPENAI_MODEL], priority: 2 } });
  aliceToken = await mintToken(server, ["gateway:invoke", "services:read", "services:write"], "alice");
  client = new OpenAI({ apiKey: aliceToken, baseURL: `${server.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await server?.dispose();
  await primary?.close();
  await backup?.close();
});
beforeEach(() => {
  primary.scenario = { kind: "ok" };
  backup.scenario = { kind: "ok" };
});

describe("OpenAI-compatible front door with the official client", () => {
  it("answers a chat completion and says which service served it and what the gateway added", async () => {
    const { data, response } = await client.chat.completions.create({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(ANSWER);
    expect(response.headers.get("x-kai-service")).toBe("primary");
    expect(Number(response.headers.get("x-kai-overhead-ms"))).toBeGreaterThanOrEqual(0);
    expect(response.headers.get("x-kai-attempts")).toBe("1");
    // The upstream got the vault's credential, not the caller's token.
    expect(primary.last("/v1/chat/completions")?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(primary.last("/v1/chat/completions")?.headers["x-request-id"]).toBe(response.headers.get("x-request-id"));
  });

  it("streams chunks the client assembles into the whole answer", async () => {
    const stream = await client.chat.completions.create({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe(ANSWER);
  });

  it("pins a service with <serviceId>/<model> and sends the bare model upstream", async () => {
    const { response } = await client.chat.completions.create({ model: `backup/${OPENAI_MODEL}`, messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect(response.headers.get("x-kai-service")).toBe("backup");
    expect((backup.last("/v1/chat/completions")?.body as { model: string }).model).toBe(OPENAI_MODEL);
  });

  it("fails over to the next service when the first answers 5xx", async () => {
    primary.scenario = { kind: "status", status: 503 };
    const { data, response } = await client.chat.completions.create({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(ANSWER);
    expect(response.headers.get("x-kai-service")).toBe("backup");
    expect(Number(response.headers.get("x-kai-attempts"))).toBeGreaterThanOrEqual(2);
  });

  it("does not fail over a request the provider refused as bad (400)", async () => {
    primary.scenario = { kind: "status", status: 400, message: "bad parameter" };
    const before = backup.requests.length;
    await expect(client.chat.completions.create({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 400 });
    expect(backup.requests.length).toBe(before);
  });

  it("ends a stream that broke after its first byte with an error the client sees, never as complete", async () => {
    primary.scenario = { kind: "fail-mid-stream" };
    backup.scenario = { kind: "fail-mid-stream" };
    const stream = await client.chat.completions.create({ model: `primary/${OPENAI_MODEL}`, messages: [{ role: "user", content: "hi" }], stream: true });
    let text = "";
    const consume = async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    };
    await expect(consume()).rejects.toThrow();
    expect(text.length).toBeLessThan(ANSWER.length);
  });

  it("cancels the upstream request when the client goes away", async () => {
    primary.scenario = { kind: "stall-mid-stream" };
    const seen = primary.earlyCloses;
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: `primary/${OPENAI_MODEL}`, messages: [{ role: "user", content: "hi" }], stream: true }, { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    await primary.waitForEarlyClose(seen);
  });

  it("lists models across visible services, plain and pinned", async () => {
    const models = await client.models.list();
    const ids = models.data.map((model) => model.id);
    expect(ids).toContain(OPENAI_MODEL);
    expect(ids).toContain(`primary/${OPENAI_MODEL}`);
    expect(ids).toContain(`backup/${OPENAI_MODEL}`);
  });

  it("routes to a service registered at run time at once, and no longer after it is removed", async () => {
    const extra = await startOpenAIFake({ models: ["hot-model"] });
    try {
      await register({ id: "hot", provider: "openai", url: extra.url, metadata: { models: ["hot-model"] } });
      const { response } = await client.chat.completions.create({ model: "hot-model", messages: [{ role: "user", content: "hi" }] }).withResponse();
      expect(response.headers.get("x-kai-service")).toBe("hot");
      expect((await server.request("/api/services/hot", { method: "DELETE" })).status).toBe(204);
      await expect(client.chat.completions.create({ model: "hot-model", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: expect.any(Number) });
    } finally {
      await extra.close();
    }
  });

  it("never routes to a service the caller may not see", async () => {
    const hidden = await startOpenAIFake({ models: ["secret-model"] });
    try {
      const carol = await mintToken(server, ["services:write"], "carol");
      await register({ id: "carols", provider: "openai", url: hidden.url, visibility: "private", metadata: { models: ["secret-model"] } }, carol);
      await expect(client.chat.completions.create({ model: "secret-model", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: expect.any(Number) });
      await expect(client.chat.completions.create({ model: "carols/secret-model", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: expect.any(Number) });
      expect(hidden.requests.filter((request) => request.path.endsWith("/chat/completions"))).toHaveLength(0);
      expect((await client.models.list()).data.map((model) => model.id)).not.toContain("carols/secret-model");
    } finally {
      await hidden.close();
    }
  });

  it("needs gateway:invoke, and refuses malformed routing hints with 400", async () => {
    const reader = await mintToken(server, ["services:read"], "reader");
    const denied = await server.request("/v1/chat/completions", { method: "POST", token: reader, json: { model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] } });
    expect(denied.status).toBe(403);
    const bad = await server.request("/v1/chat/completions", { method: "POST", token: aliceToken, headers: { "x-kai-routing": "{not json" }, json: { model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
  });

  it("routes the generic form and says who served it", async () => {
    const response = await server.request("/api/route/llm_chat", { method: "POST", token: aliceToken, json: { request: { model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] }, routingHints: { fallback: ["backup"] } } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { response: { choices: { message: { content: string } }[] }; servedBy: { id: string }; attempts: number; overheadMs: number };
    expect(body.response.choices[0]?.message.content).toBe(ANSWER);
    expect(body.servedBy.id).toBe("backup");
    expect(body.attempts).toBe(1);
  });

  it("never writes the upstream credential to a log line or an answer", () => {
    expect(server.logs.join("\n")).not.toContain(KEY);
  });
});
