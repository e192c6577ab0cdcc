// Proves the OpenAI fake speaks the wire format the official `openai` npm client parses (so the contract
// tests exercise real shapes), and that our connector's output round-trips through the client's types.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import { openaiConnector } from "../../src/gateway/connectors/openai/index.js";
import { ANSWER, TOKENS, type FakeUpstream } from "./fakes/fake-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "./fakes/openai-fake.js";

describe("OpenAI fake ⇄ official openai client", () => {
  let fake: FakeUpstream;
  let client: OpenAI;
  beforeAll(async () => {
    fake = await startOpenAIFake({ requireKey: "sk-sdk" });
    client = new OpenAI({ apiKey: "sk-sdk", baseURL: `${fake.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("the client parses the fake's non-streaming chat completion", async () => {
    const completion = await client.chat.completions.create({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] });
    expect(completion.choices[0]?.message.content).toBe(ANSWER);
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("the client parses the fake's SSE stream, [DONE] included", async () => {
    const stream = await client.chat.completions.create({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    const parts: string[] = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content;
      if (content) parts.push(content);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(parts).toEqual(TOKENS);
    expect(usage?.completion_tokens).toBe(TOKENS.length);
  });

  it("the client turns the fake's 429 into its RateLimitError with the Retry-After header", async () => {
    fake.scenario = { kind: "status", status: 429, retryAfter: "3" };
    try {
      await expect(client.chat.completions.create({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 429, headers: expect.anything() });
      const error = await client.models.list().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get("retry-after")).toBe("3");
    } finally {
      fake.scenario = { kind: "ok" };
    }
  });

  it("the client parses the fake's models, embeddings and images", async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toContain(OPENAI_MODEL);
    const embeddings = await client.embeddings.create({ model: "text-embedding-fake", input: ["a"], encoding_format: "float" });
    expect(embeddings.data[0]?.embedding).toEqual([0.1, 0.2, 0.3]);
    const images = await client.images.generate({ prompt: "a cat", model: "dall-e-3" });
    expect(images.data?.[0]?.url).toMatch(/^https:/);
  });

  it("our connector's chunks satisfy the client's ChatCompletionChunk type and content", async () => {
    const stream = await openaiConnector.chatStream({ model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] }, { target: { baseUrl: fake.url, credential: "sk-sdk" } });
    const typed: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) typed.push(chunk as unknown as OpenAI.ChatCompletionChunk);
    expect(typed.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe(ANSWER);
  });
});
