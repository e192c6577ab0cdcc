// Runs the shared connector contract for OpenAI and every OpenAI-compatible flavour against the OpenAI fake,
// plus the OpenAI-only operations (completions, images) and base-URL handling.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
} from "@kai/protocol";
import {
  llamaCppConnector,
  lmStudioConnector,
  openaiCompatibleConnector,
  openaiConnector,
  openWebUiConnector,
  vllmConnector,
} from "../../src/gateway/connectors/openai/index.js";
import { describeConnectorContract } from "./connector-contract.js";
import { ANSWER, type FakeUpstream } from "./fakes/fake-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "./fakes/openai-fake.js";

const bearer = (headers: Record<string, unknown>, credential: string) => expect(headers.authorization).toBe(`Bearer ${credential}`);

for (const connector of [openaiConnector, openaiCompatibleConnector, lmStudioConnector, vllmConnector, llamaCppConnector, openWebUiConnector]) {
  const prefix = connector.id === "open-webui" ? "/api" : "/v1";
  describeConnectorContract(connector.id, {
    connector,
    start: (credential) => startOpenAIFake({ requireKey: credential }),
    model: OPENAI_MODEL,
    expectedModels: [OPENAI_MODEL],
    chatPath: `${prefix}/chat/completions`,
    streamUsage: ["openai", "lmstudio", "vllm", "llama-cpp"].includes(connector.id),
    checkAuth: (headers, credential) => bearer(headers, credential),
  });
}

describe("openai-compatible connector against a server that ignores encoding_format", () => {
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await startOpenAIFake({ ignoreEncodingFormat: true });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("still answers base64 (little-endian float32) when the caller asked for it", async () => {
    const result = await openaiCompatibleConnector.embeddings!({ model: "text-embedding-fake", input: "a", encoding_format: "base64" }, { target: { baseUrl: fake.url } });
    expect((fake.last("/v1/embeddings")?.body as { encoding_format?: string }).encoding_format).toBe("base64");
    const bytes = Buffer.from(result.data.data[0]?.embedding as string, "base64");
    expect([0, 1, 2].map((index) => bytes.readFloatLE(index * 4))).toEqual([0.1, 0.2, 0.3].map((value) => Math.fround(value)));
  });
});

describe("openai connector: OpenAI-only operations", () => {
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await startOpenAIFake({ requireKey: "sk-k" });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("accepts a base URL that already ends in /v1 (the openai SDK convention)", async () => {
    const result = await openaiConnector.chat({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] }, { target: { baseUrl: `${fake.url}/v1/`, credential: "sk-k" } });
    expect(result.data.choices[0]?.message.content).toBe(ANSWER);
    expect(fake.last("/v1/chat/completions")).toBeDefined();
  });

  it("forwards unknown parameters untouched and asks for stream usage", async () => {
    const stream = await openaiConnector.chatStream({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }], logit_bias: { "42": 1 } }, { target: { baseUrl: fake.url, credential: "sk-k" } });
    for await (const _chunk of stream) void _chunk;
    const body = fake.last("/v1/chat/completions")?.body as Record<string, unknown>;
    expect(body.logit_bias).toEqual({ "42": 1 });
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ include_usage: true });
  });

  it("does text completions and image generations", async () => {
    const target = { baseUrl: fake.url, credential: "sk-k" };
    const completion = await openaiConnector.completions!({ model: OPENAI_MODEL, prompt: "Say" }, { target });
    expect(completion.data.choices[0]?.text).toBe(ANSWER);
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
    const image = await openaiConnector.images!({ prompt: "a cat", model: "dall-e-fake" }, { target });
    expect(image.data.data[0]?.url).toMatch(/^https:/);
  });

  it("validates what comes back: the fake's bodies match the protocol's OpenAI schemas", async () => {
    const target = { baseUrl: fake.url, credential: "sk-k" };
    const plain = await openaiConnector.chat({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] }, { target });
    expect(ChatCompletionSchema.safeParse(plain.data).success).toBe(true);
    // Provider-specific fields survive (loose objects), so clients see exactly what OpenAI sent.
    expect((plain.data as Record<string, unknown>).system_fingerprint).toBe("fp_fake");
    const stream = await openaiConnector.chatStream({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] }, { target });
    for await (const chunk of stream) expect(ChatCompletionChunkSchema.safeParse(chunk).success).toBe(true);
  });
});
