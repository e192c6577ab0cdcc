/**
 * `client.gateway` and `client.services.check` against a real server and a fake OpenAI upstream over
 * sockets: chat with the served-by facts, a streamed chat, a stream that breaks midway throwing instead of
 * ending early, embeddings, the model list, the generic route, and the live probe.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { definition, startRegistry, type RegistryFixture } from "./helpers/registry-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../../server/test/gateway/fakes/openai-fake.js";
import { ANSWER, type FakeUpstream } from "../../server/test/gateway/fakes/fake-server.js";

let registry: RegistryFixture;
let upstream: FakeUpstream;
let alice: KaiClient;

beforeAll(async () => {
  upstream = await startOpenAIFake();
  registry = await startRegistry();
  await registry.admin.services.register(definition("llm", { url: upstream.url, capabilities: ["llm_chat", "embeddings"], visibility: "public", metadata: { models: [OPENAI_MODEL, "text-embedding-fake"] } }));
  alice = await registry.clientWith(["gateway:invoke", "services:read"], "alice");
});
afterAll(async () => {
  await registry?.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.scenario = { kind: "ok" };
});

describe("client.gateway", () => {
  it("chats and says which service served it", async () => {
    const answer = await alice.gateway.chat({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] });
    expect(answer.completion.choices[0]?.message.content).toBe(ANSWER);
    expect(answer.serviceId).toBe("llm");
    // The same shape as route()'s servedBy.
    expect(answer.servedBy).toEqual({ id: "llm", provider: "openai" });
    expect(answer.attempts).toBe(1);
    expect(answer.overheadMs).toBeGreaterThanOrEqual(0);
    // This node does not trace: no trace to name.
    expect(answer.traceId).toBeUndefined();
  });

  it("names the trace of a call on a node that traces, which finds the call's log lines", async () => {
    const traced = await startRegistry({ tracing: { enabled: true } });
    try {
      await traced.admin.services.register(definition("llm", { url: upstream.url, capabilities: ["llm_chat"], visibility: "public", metadata: { models: [OPENAI_MODEL] } }));
      const answer = await traced.admin.gateway.chat({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] });
      expect(answer.traceId).toMatch(/^[0-9a-f]{32}$/);
      const stream = await traced.admin.gateway.chatStream({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] });
      for await (const chunk of stream) void chunk;
      expect(stream.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(stream.traceId).not.toBe(answer.traceId);
      const lines = await traced.admin.logs.list({ traceId: answer.traceId! });
      expect(lines.entries.some((entry) => entry.requestId === answer.requestId && entry.fields.path === "/v1/chat/completions")).toBe(true);
    } finally {
      await traced.close();
    }
  });

  it("streams a chat", async () => {
    const stream = await alice.gateway.chatStream({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] });
    expect(stream.servedBy).toEqual({ id: "llm", provider: "openai" });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe(ANSWER);
  });

  it("throws when a stream breaks midway instead of ending as if complete", async () => {
    upstream.scenario = { kind: "fail-mid-stream" };
    const stream = await alice.gateway.chatStream({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] });
    const consume = async () => {
      for await (const chunk of stream) void chunk;
    };
    await expect(consume()).rejects.toBeInstanceOf(KaiApiError);
  });

  it("computes embeddings, lists models and routes the generic form", async () => {
    const embeddings = await alice.gateway.embeddings({ model: "text-embedding-fake", input: "hello" });
    expect(embeddings.embeddings.data.length).toBeGreaterThan(0);
    const models = (await alice.gateway.models()).map((model) => model.id);
    expect(models).toContain(`llm/${OPENAI_MODEL}`);
    const routed = await alice.gateway.route("llm_chat", { model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] });
    expect(routed.servedBy).toEqual({ id: "llm", provider: "openai" });
    expect((await alice.gateway.models({ capability: "embeddings" })).map((model) => model.id)).toContain(`llm/${OPENAI_MODEL}`);
    expect(await alice.gateway.models({ capability: "image_generation" })).toEqual([]);
  });

  it("reports a routing failure as KaiApiError with the gateway's code", async () => {
    await expect(alice.gateway.chat({ model: "no-such-model", messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ code: "model_not_found", status: 404 });
  });

  it("probes a service live", async () => {
    const healthy = await alice.services.check("llm");
    expect(healthy.ok).toBe(true);
    expect(healthy.models).toContain(OPENAI_MODEL);
    upstream.scenario = { kind: "status", status: 503 };
    const failing = await alice.services.check("llm");
    expect(failing.ok).toBe(false);
    expect(failing.code).toBeTruthy();
  });
});
