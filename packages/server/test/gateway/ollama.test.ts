// Runs the shared connector contract for the Ollama connector against its fake, plus /api/generate and
// the parameter translation into `options`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ollamaConnector } from "../../src/gateway/connectors/ollama/index.js";
import { toOllamaChat } from "../../src/gateway/connectors/ollama/translate.js";
import { describeConnectorContract } from "./connector-contract.js";
import { ANSWER, type FakeUpstream } from "./fakes/fake-server.js";
import { OLLAMA_MODEL, startOllamaFake } from "./fakes/ollama-fake.js";

describeConnectorContract("ollama", {
  connector: ollamaConnector,
  start: (credential) => startOllamaFake({ requireKey: credential }),
  model: OLLAMA_MODEL,
  expectedModels: [OLLAMA_MODEL],
  chatPath: "/api/chat",
  streamUsage: true,
  checkAuth: (headers, credential) => expect(headers.authorization).toBe(`Bearer ${credential}`),
});

describe("ollama specifics", () => {
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await startOllamaFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("moves sampling parameters into options (max_tokens → num_predict)", () => {
    const body = toOllamaChat({ model: "m", messages: [{ role: "developer", content: "sys" }, { role: "user", content: [{ type: "text", text: "hi" }] }], max_tokens: 9, temperature: 0.5, stop: "x", seed: 1 }, true);
    expect(body).toEqual({ model: "m", stream: true, messages: [{ role: "system", content: "sys" }, { role: "user", content: "hi" }], options: { num_predict: 9, temperature: 0.5, stop: ["x"], seed: 1 } });
  });

  it("runs text completions through /api/generate with usage from eval counts", async () => {
    const result = await ollamaConnector.completions!({ model: OLLAMA_MODEL, prompt: "Say", max_tokens: 5 }, { target: { baseUrl: fake.url } });
    expect(result.data.choices[0]?.text).toBe(ANSWER);
    expect(result.usage?.completion_tokens).toBeGreaterThan(0);
    expect(fake.last("/api/generate")?.body).toMatchObject({ model: OLLAMA_MODEL, prompt: "Say", stream: false, options: { num_predict: 5 } });
  });

  const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];

  it("passes tools through and returns Ollama's tool calls in OpenAI shape", async () => {
    const result = await ollamaConnector.chat({ model: OLLAMA_MODEL, messages: [{ role: "user", content: "weather?" }], tools }, { target: { baseUrl: fake.url } });
    expect(fake.last("/api/chat")?.body).toMatchObject({ tools });
    const choice = result.data.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.tool_calls).toEqual([{ id: "call_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
  });

  it("streams a tool call as one complete tool_calls delta and finishes with tool_calls", async () => {
    const stream = await ollamaConnector.chatStream({ model: OLLAMA_MODEL, messages: [{ role: "user", content: "weather?" }], tools }, { target: { baseUrl: fake.url } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: "assistant", tool_calls: [{ index: 0, id: "call_0_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("tool_calls");
  });

  it("sends assistant tool-call arguments to Ollama as objects", () => {
    const body = toOllamaChat(
      { model: "m", messages: [{ role: "assistant", content: "", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] }, { role: "tool", tool_call_id: "c1", content: "ok" }] },
      false,
    );
    expect(body.messages).toEqual([
      { role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: { a: 1 } } }] },
      { role: "tool", content: "ok" },
    ]);
  });

  it("sends no Authorization header when the service has no credential", async () => {
    await ollamaConnector.chat({ model: OLLAMA_MODEL, messages: [{ role: "user", content: "hi" }] }, { target: { baseUrl: fake.url } });
    expect(fake.last("/api/chat")?.headers.authorization).toBeUndefined();
  });
});
