/**
 * What the official `openai` client expects of the wire, for every provider behind the front door: embeddings in
 * the `encoding_format` asked for (the client asks for base64 by default and decodes the string it gets back, so
 * a float array turns into an empty vector), and stream chunks shaped as OpenAI's (a closing usage chunk with
 * `choices: []` only when `stream_options.include_usage` asked for it).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { startAnthropicFake, ANTHROPIC_MODEL } from "../fakes/anthropic-fake.js";
import { ANSWER, type FakeUpstream } from "../fakes/fake-server.js";
import { OLLAMA_MODEL, startOllamaFake } from "../fakes/ollama-fake.js";
import { OPENAI_MODEL, startOpenAIFake } from "../fakes/openai-fake.js";

const VECTOR = [0.1, 0.2, 0.3];
let server: TestServer;
let client: OpenAI;
const fakes: FakeUpstream[] = [];

/** A base64 embedding as OpenAI encodes it: float32, little-endian. */
function decode(text: string): number[] {
  const bytes = Buffer.from(text, "base64");
  return Array.from({ length: bytes.length / 4 }, (_, index) => bytes.readFloatLE(index * 4));
}

function expectVector(actual: readonly number[] | undefined): void {
  expect(actual).toHaveLength(VECTOR.length);
  actual!.forEach((value, index) => expect(value).toBeCloseTo(VECTOR[index]!, 6));
}

beforeAll(async () => {
  const [openai, compatible, ollama, anthropic] = await Promise.all([startOpenAIFake(), startOpenAIFake({ ignoreEncodingFormat: true }), startOllamaFake(), startAnthropicFake()]);
  fakes.push(openai, compatible, ollama, anthropic);
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  const register = async (body: Record<string, unknown>) => expect((await server.request("/api/services/register", { method: "POST", json: registration(body) })).status).toBe(201);
  await register({ id: "oai", provider: "openai", capabilities: ["llm_chat", "embeddings"], url: openai.url, metadata: { models: [OPENAI_MODEL, "text-embedding-fake"] } });
  await register({ id: "compat", provider: "openai-compatible", capabilities: ["llm_chat", "embeddings"], url: compatible.url, metadata: { models: ["text-embedding-fake"] } });
  await register({ id: "ollama", provider: "ollama", capabilities: ["llm_chat", "embeddings"], url: ollama.url, metadata: { models: [OLLAMA_MODEL] } });
  await register({ id: "claude", provider: "anthropic", capabilities: ["llm_chat"], url: anthropic.url, metadata: { models: [ANTHROPIC_MODEL] } });
  client = new OpenAI({ apiKey: await mintToken(server, ["gateway:invoke"], "alice"), baseURL: `${server.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await server?.dispose();
  await Promise.all(fakes.map((fake) => fake.close()));
});

// OpenAI honours encoding_format itself; the "compatible" server ignores it; Ollama has no such option.
const EMBEDDERS = [
  ["OpenAI", "oai/text-embedding-fake"],
  ["an OpenAI-compatible server that ignores encoding_format", "compat/text-embedding-fake"],
  ["Ollama", `ollama/${OLLAMA_MODEL}`],
] as const;

describe.each(EMBEDDERS)("embeddings through %s with the official client", (_name, model) => {
  it("decodes to the real vectors with the client's default (base64) encoding", async () => {
    const answer = await client.embeddings.create({ model, input: ["a", "b"] });
    expect(answer.data).toHaveLength(2);
    for (const entry of answer.data) expectVector(entry.embedding);
  });

  it("answers float arrays when asked for float", async () => {
    const answer = await client.embeddings.create({ model, input: "a", encoding_format: "float" });
    expect(answer.data[0]?.embedding).toEqual(VECTOR);
  });

  it("answers little-endian float32 base64 when asked for base64", async () => {
    const answer = await client.embeddings.create({ model, input: "a", encoding_format: "base64" });
    const embedding = answer.data[0]?.embedding as unknown;
    expect(typeof embedding).toBe("string");
    expectVector(decode(embedding as string));
  });
});

const CHATTERS = [
  ["OpenAI", `oai/${OPENAI_MODEL}`],
  ["Anthropic (translated)", `claude/${ANTHROPIC_MODEL}`],
  ["Ollama (translated)", `ollama/${OLLAMA_MODEL}`],
] as const;

describe.each(CHATTERS)("stream chunks from %s", (_name, model) => {
  it("carry no usage and never an empty choices list when the client did not ask for usage", async () => {
    const stream = await client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], stream: true });
    let text = "";
    for await (const chunk of stream) {
      // What clients that read choices[0] of every chunk rely on.
      expect(chunk.choices.length).toBeGreaterThan(0);
      expect(chunk.usage ?? null).toBeNull();
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(text).toBe(ANSWER);
  });

  it("end with one usage chunk (choices: []) when stream_options.include_usage asks for it", async () => {
    const stream = await client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.total_tokens).toBeGreaterThan(0);
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.choices.length).toBeGreaterThan(0);
      expect(chunk.usage ?? null).toBeNull();
    }
  });
});
