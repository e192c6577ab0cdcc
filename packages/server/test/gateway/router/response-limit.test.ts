// `gateway.maxResponseBytes` through the router and the real connectors against the provider fakes: an oversized
// answer fails its attempt as `upstream_invalid_response` and the router fails over to the next service (the breaker
// counts it); a stream's one giant SSE event or NDJSON line fails over before the first chunk and ends the stream with
// an error from the iterator after it; a transcript (bytes) answer is bounded too; a large answer within the limit works.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ChatCompletionChunk } from "@kai/protocol";
import type { ApiError } from "../../../src/errors.js";
import { ollamaConnector } from "../../../src/gateway/connectors/ollama/index.js";
import { openaiConnector } from "../../../src/gateway/connectors/openai/index.js";
import { whisperConnector } from "../../../src/gateway/connectors/whisper/index.js";
import { UpstreamError } from "../../../src/gateway/upstream/upstream-error.js";
import { ANSWER, FRAMES_BEFORE_FAULT, type FakeUpstream } from "../fakes/fake-server.js";
import { OLLAMA_MODEL, startOllamaFake } from "../fakes/ollama-fake.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { WHISPER_MODEL, startWhisperFake } from "../fakes/whisper-fake.js";
import { ALICE, chat, openRouterHarness, registerPreferredPair, settle, type RouterHarness } from "./harness.js";

const LIMIT = 1024 * 1024;
const OVER = 8 * LIMIT;

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

describe("connectors bound what one answer may take", () => {
  let openai: FakeUpstream;
  let ollama: FakeUpstream;
  let whisper: FakeUpstream;
  beforeAll(async () => {
    openai = await startOpenAIFake();
    ollama = await startOllamaFake();
    whisper = (await startWhisperFake()).fake;
  });
  afterAll(async () => {
    await Promise.all([openai.close(), ollama.close(), whisper.close()]);
  });
  const context = (fake: FakeUpstream) => ({ target: { baseUrl: fake.url }, timeoutMs: 5_000, idleTimeoutMs: 5_000, maxResponseBytes: LIMIT });

  it("an OpenAI chat answer beyond the limit fails as an invalid response, and one within it works", async () => {
    openai.scenario = { kind: "oversized", bytes: OVER };
    const failure = await openaiConnector.chat(chat(), context(openai)).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).code).toBe("upstream_invalid_response");
    expect((failure as UpstreamError).message).toBe(`OpenAI answered with more than ${LIMIT} bytes`);
    openai.scenario = { kind: "ok" };
    expect((await openaiConnector.chat(chat(), context(openai))).data.choices[0]?.message.content).toBe(ANSWER);
  });

  it("a transcription answer (read as bytes) beyond the limit fails the same way", async () => {
    whisper.scenario = { kind: "oversized", bytes: OVER, announce: true };
    const failure = await whisperConnector.transcriptions!({ file: Buffer.from("RIFF fake"), model: WHISPER_MODEL, response_format: "text" }, context(whisper)).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((failure as ApiError).code).toBe("upstream_invalid_response");
    whisper.scenario = { kind: "ok" };
  });

  it("an SSE stream whose event grows beyond the limit ends with upstream_invalid_response after its first chunks", async () => {
    openai.scenario = { kind: "oversized", bytes: OVER, midStream: true };
    const closes = openai.earlyCloses;
    const { chunks, error } = await drain(await openaiConnector.chatStream(chat(), context(openai)));
    expect(chunks.length).toBe(FRAMES_BEFORE_FAULT);
    expect((error as UpstreamError).code).toBe("upstream_invalid_response");
    expect((error as UpstreamError).message).toBe(`OpenAI sent a stream event of more than ${LIMIT} bytes`);
    await openai.waitForEarlyClose(closes);
    openai.scenario = { kind: "ok" };
  });

  it("an NDJSON stream whose line grows beyond the limit ends the same way", async () => {
    ollama.scenario = { kind: "oversized", bytes: OVER, midStream: true };
    const closes = ollama.earlyCloses;
    const { chunks, error } = await drain(await ollamaConnector.chatStream(chat(OLLAMA_MODEL), context(ollama)));
    expect(chunks.length).toBe(FRAMES_BEFORE_FAULT);
    expect((error as UpstreamError).code).toBe("upstream_invalid_response");
    expect((error as UpstreamError).message).toBe(`Ollama sent a stream line of more than ${LIMIT} bytes`);
    await ollama.waitForEarlyClose(closes);
    ollama.scenario = { kind: "ok" };
  });
});

describe("the router with gateway.maxResponseBytes", () => {
  let a: FakeUpstream;
  let b: FakeUpstream;
  let h: RouterHarness;
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
    h = await openRouterHarness({ maxResponseBytes: LIMIT, retries: 0 });
    await registerPreferredPair(h, a.url, b.url);
  });
  afterEach(async () => {
    await h.close();
  });
  const stats = (id: string) => h.router.serviceStats().find((entry) => entry.serviceId === id)!;

  it("fails over to the second service when the first answers too large (with or without content-length)", async () => {
    for (const announce of [false, true]) {
      a.scenario = { kind: "oversized", bytes: OVER, announce };
      const result = await h.router.route("chat", chat(), { principal: ALICE });
      expect(result.serviceId).toBe("second");
      expect(result.data.choices[0]?.message.content).toBe(ANSWER);
      expect(result.attempts[0]).toMatchObject({ serviceId: "first", outcome: "error", code: "upstream_invalid_response" });
    }
    await settle();
    expect(stats("first").failures).toBe(2);
  });

  it("when every service answers too large, the caller gets upstream_invalid_response (502)", async () => {
    a.scenario = { kind: "oversized", bytes: OVER };
    b.scenario = { kind: "oversized", bytes: OVER, announce: true };
    const error = await h.router.route("chat", chat(), { principal: ALICE }).then(() => undefined, (caught: unknown) => caught);
    expect((error as ApiError).code).toBe("upstream_invalid_response");
    expect((error as ApiError).status).toBe(502);
  });

  it("a stream whose first event is too large fails over before the first byte", async () => {
    a.scenario = { kind: "oversized", bytes: OVER };
    const stream = await h.router.routeStream(chat(), { principal: ALICE });
    expect(stream.serviceId).toBe("second");
    expect(stream.attempts[0]).toMatchObject({ serviceId: "first", outcome: "error", code: "upstream_invalid_response" });
    expect(text((await drain(stream)).chunks)).toBe(ANSWER);
  });

  it("after the first chunk, a too-large event ends the stream with the error, counted against the service", async () => {
    a.scenario = { kind: "oversized", bytes: OVER, midStream: true };
    const stream = await h.router.routeStream(chat(), { principal: ALICE });
    expect(stream.serviceId).toBe("first");
    const { chunks, error } = await drain(stream);
    expect(chunks.length).toBe(FRAMES_BEFORE_FAULT);
    expect((error as ApiError).code).toBe("upstream_invalid_response");
    await settle();
    expect(h.results.at(-1)).toMatchObject({ serviceId: "first", outcome: "error", code: "upstream_invalid_response", streamed: true });
  });
});
