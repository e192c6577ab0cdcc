// routeStream: free failover until the upstream answered and sent its first chunk; after that a broken
// stream throws an UpstreamError from the iterator (never a quiet end) and counts against the service;
// the caller's abort or an early exit closes the upstream connection without blaming the service.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ChatCompletionChunk } from "@kai/protocol";
import type { ApiError } from "../../../src/errors.js";
import { UpstreamError } from "../../../src/gateway/upstream/upstream-error.js";
import { ANSWER, FRAMES_BEFORE_FAULT, type FakeUpstream } from "../fakes/fake-server.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { ALICE, chat, openRouterHarness, registerPreferredPair, settle, type RouterHarness } from "./harness.js";

let a: FakeUpstream;
let b: FakeUpstream;
let h: RouterHarness;

const chatCalls = (fake: FakeUpstream) => fake.requests.filter((request) => request.path === "/v1/chat/completions").length;
const text = (chunks: ChatCompletionChunk[]) => chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? "").join("");

async function drain(stream: AsyncIterable<ChatCompletionChunk>): Promise<{ chunks: ChatCompletionChunk[]; error?: unknown }> {
  const chunks: ChatCompletionChunk[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
    return { chunks };
  } catch (error) {
    return { chunks, error };
  }
}

beforeAll(async () => {
  a = await startOpenAIFake();
  b = await startOpenAIFake();
});
afterAll(async () => {
  await a.close();
  await b.close();
});
beforeEach(async () => {
  a.scenario = { kind: "ok" };
  b.scenario = { kind: "ok" };
  a.requests.length = 0;
  b.requests.length = 0;
  h = await openRouterHarness({ attemptTimeoutMs: 300, streamIdleTimeoutMs: 300 });
  await registerPreferredPair(h, a.url, b.url);
});
afterEach(async () => {
  await h.close();
});

const stats = (id: string) => h.router.serviceStats().find((entry) => entry.serviceId === id)!;

describe("routeStream", () => {
  it("streams a complete answer, reports usage and charges tokens", async () => {
    const stream = await h.router.routeStream(chat(), { principal: ALICE });
    expect(stream.serviceId).toBe("first");
    const { chunks, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(text(chunks)).toBe(ANSWER);
    expect(stream.usage()?.total_tokens).toBe(12);
    await settle();
    expect(h.results).toEqual([expect.objectContaining({ serviceId: "first", outcome: "ok", streamed: true, usage: expect.objectContaining({ total_tokens: 12 }) })]);
    expect(stats("first")).toMatchObject({ inFlight: 0, tokensLastMinute: 12, failures: 0 });
  });

  it("fails over before the first byte: 5xx, 429 and a stalled upstream", async () => {
    for (const scenario of [{ kind: "status", status: 502 }, { kind: "status", status: 429 }, { kind: "stall" }] as const) {
      a.scenario = { ...scenario };
      // A fresh router each time: the previous scenario's failures or cooldown must not decide this one.
      const router = await h.newRouter();
      try {
        const stream = await router.routeStream(chat(), { principal: ALICE, hints: { fallback: ["first", "second"] } });
        expect(stream.serviceId).toBe("second");
        expect(stream.attempts[0]).toMatchObject({ serviceId: "first", outcome: "error" });
        expect(text((await drain(stream)).chunks)).toBe(ANSWER);
      } finally {
        router.stop();
      }
    }
  });

  it("after the first chunk, a cut connection is an error from the iterator, counted against the service", async () => {
    a.scenario = { kind: "fail-mid-stream" };
    const stream = await h.router.routeStream(chat(), { principal: ALICE });
    expect(stream.serviceId).toBe("first");
    const { chunks, error } = await drain(stream);
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.length).toBeLessThan(FRAMES_BEFORE_FAULT + 1);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).code).toBe("upstream_stream_broken");
    expect(chatCalls(b)).toBe(0); // no failover once bytes went out
    await settle();
    expect(stats("first")).toMatchObject({ failures: 1, inFlight: 0 });
    expect(h.results.at(-1)).toMatchObject({ serviceId: "first", outcome: "error", code: "upstream_stream_broken", streamed: true });
  });

  it("an in-band provider error or a stall mid-stream also throws", async () => {
    a.scenario = { kind: "error-mid-stream" };
    const inBand = await drain(await h.router.routeStream(chat(), { principal: ALICE }));
    expect((inBand.error as ApiError).code).toBe("upstream_stream_broken");
    a.scenario = { kind: "stall-mid-stream" };
    const stalled = await drain(await h.router.routeStream(chat(), { principal: ALICE }));
    expect((stalled.error as ApiError).code).toBe("upstream_timeout");
    expect(stats("first").failures).toBe(2);
  });

  it("the caller's abort mid-stream closes the upstream connection and blames no one", async () => {
    a.scenario = { kind: "stall-mid-stream" };
    h.router.stop();
    const patient = await h.newRouter({ streamIdleTimeoutMs: 10_000 });
    try {
      await patient.modelsReady("first");
      const controller = new AbortController();
      const closes = a.earlyCloses;
      const stream = await patient.routeStream(chat(), { principal: ALICE, signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);
      setTimeout(() => controller.abort(), 50);
      const error = await (async () => {
        try {
          for (;;) if ((await iterator.next()).done) return undefined;
        } catch (caught) {
          return caught;
        }
      })();
      expect((error as ApiError).code).toBe("request_cancelled");
      await a.waitForEarlyClose(closes);
      expect(patient.serviceStats().find((entry) => entry.serviceId === "first")).toMatchObject({ failures: 0, inFlight: 0, breaker: "closed" });
    } finally {
      patient.stop();
    }
  });

  it("leaving the loop early closes the upstream connection", async () => {
    a.scenario = { kind: "stall-mid-stream" };
    const closes = a.earlyCloses;
    const stream = await h.router.routeStream(chat(), { principal: ALICE });
    for await (const chunk of stream) {
      expect(chunk).toBeDefined();
      break;
    }
    await a.waitForEarlyClose(closes);
    expect(stats("first")).toMatchObject({ failures: 0, inFlight: 0 });
  });

  it("a caller that aborts before the first chunk stops failover", async () => {
    a.scenario = { kind: "stall" };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await h.router.routeStream(chat(), { principal: ALICE, signal: controller.signal }).catch((caught: unknown) => caught);
    expect((error as ApiError).code).toBe("request_cancelled");
    expect(chatCalls(b)).toBe(0);
  });
});
