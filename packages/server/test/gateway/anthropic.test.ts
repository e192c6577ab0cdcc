// Runs the shared connector contract for the Anthropic connector against its fake, plus the pure
// OpenAI ⇄ Anthropic translation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anthropicConnector, ANTHROPIC_VERSION } from "../../src/gateway/connectors/anthropic/index.js";
import { DEFAULT_MAX_TOKENS, finishReason, fromAnthropicMessage, toAnthropicRequest } from "../../src/gateway/connectors/anthropic/translate.js";
import { describeConnectorContract } from "./connector-contract.js";
import { ANTHROPIC_MODEL, startAnthropicFake } from "./fakes/anthropic-fake.js";
import type { FakeUpstream } from "./fakes/fake-server.js";

describeConnectorContract("anthropic", {
  connector: anthropicConnector,
  start: (credential) => startAnthropicFake({ requireKey: credential }),
  model: ANTHROPIC_MODEL,
  expectedModels: [ANTHROPIC_MODEL],
  chatPath: "/v1/messages",
  streamUsage: true,
  checkAuth: (headers, credential) => {
    expect(headers["x-api-key"]).toBe(credential);
    expect(headers["anthropic-version"]).toBe(ANTHROPIC_VERSION);
    expect(headers.authorization).toBeUndefined();
  },
});

describe("anthropic translation", () => {
  it("moves system messages to `system`, defaults max_tokens and renames stop", () => {
    const body = toAnthropicRequest(
      { model: "m", messages: [{ role: "system", content: "A" }, { role: "developer", content: "B" }, { role: "user", content: "hi" }], stop: "END", temperature: 0.2 },
      false,
    );
    expect(body).toMatchObject({ model: "m", system: "A\n\nB", max_tokens: DEFAULT_MAX_TOKENS, stop_sequences: ["END"], temperature: 0.2, stream: false });
    expect(body.messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("translates image parts (data URL and remote URL) into Anthropic image blocks", () => {
    const body = toAnthropicRequest(
      {
        model: "m",
        max_tokens: 10,
        messages: [{ role: "user", content: [{ type: "text", text: "what?" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }, { type: "image_url", image_url: { url: "https://x/y.png" } }] }],
      },
      true,
    );
    expect(body.max_tokens).toBe(10);
    expect(body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "what?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
          { type: "image", source: { type: "url", url: "https://x/y.png" } },
        ],
      },
    ]);
  });

  it("translates tools, tool_choice, assistant tool calls and tool results", () => {
    const body = toAnthropicRequest(
      {
        model: "m",
        messages: [
          { role: "user", content: "weather?" },
          { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }, { id: "call_2", type: "function", function: { name: "time", arguments: "" } }] },
          { role: "tool", tool_call_id: "call_1", content: "sunny" },
          { role: "tool", tool_call_id: "call_2", content: "noon" },
        ],
        tools: [{ type: "function", function: { name: "weather", description: "Weather by city", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
        tool_choice: { type: "function", function: { name: "weather" } },
      },
      false,
    );
    expect(body.tools).toEqual([{ name: "weather", description: "Weather by city", input_schema: { type: "object", properties: { city: { type: "string" } } } }]);
    expect(body.tool_choice).toEqual({ type: "tool", name: "weather" });
    expect(body.messages).toEqual([
      { role: "user", content: "weather?" },
      { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "weather", input: { city: "Paris" } }, { type: "tool_use", id: "call_2", name: "time", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: "sunny" }, { type: "tool_result", tool_use_id: "call_2", content: "noon" }] },
    ]);
    expect(toAnthropicRequest({ model: "m", messages: [{ role: "user", content: "x" }], tool_choice: "required" }, false).tool_choice).toEqual({ type: "any" });
  });

  it("rejects malformed tool input with validation_failed instead of sending it", () => {
    expect(() => toAnthropicRequest({ model: "m", messages: [{ role: "tool", content: "42" }] }, false)).toThrow(/tool_call_id/);
    expect(() =>
      toAnthropicRequest({ model: "m", messages: [{ role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{not json" } }] }] }, false),
    ).toThrow(/not valid JSON/);
  });

  it("maps stop reasons and usage back to OpenAI", () => {
    expect(finishReason("end_turn")).toBe("stop");
    expect(finishReason("max_tokens")).toBe("length");
    expect(finishReason("tool_use")).toBe("tool_calls");
    expect(finishReason(null)).toBeNull();
    const completion = fromAnthropicMessage({ id: "msg_1", type: "message", role: "assistant", model: "m", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }], stop_reason: "max_tokens", usage: { input_tokens: 3, output_tokens: 4 } }, 5);
    expect(completion).toEqual({ id: "msg_1", object: "chat.completion", created: 5, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "ab" }, finish_reason: "length" }], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
  });
});

describe("anthropic tool calls against the fake", () => {
  let fake: FakeUpstream;
  const target = () => ({ baseUrl: fake.url, credential: "k" });
  const request = {
    model: ANTHROPIC_MODEL,
    messages: [{ role: "user" as const, content: "Weather in Paris?" }],
    tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
  };
  beforeAll(async () => {
    fake = await startAnthropicFake();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("returns tool_use as OpenAI tool_calls with finish_reason tool_calls", async () => {
    const result = await anthropicConnector.chat(request, { target: target() });
    const choice = result.data.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBe("Let me check.");
    expect(choice.message.tool_calls).toEqual([{ id: "toolu_fake1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
  });

  it("streams input_json_delta as tool_calls argument deltas (nothing lost in translation)", async () => {
    const stream = await anthropicConnector.chatStream(request, { target: target() });
    let text = "";
    let args = "";
    const starts: unknown[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      text += choice.delta.content ?? "";
      const calls = choice.delta.tool_calls as Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }> | undefined;
      for (const call of calls ?? []) {
        expect(call.index).toBe(0);
        if (call.id) starts.push({ id: call.id, name: call.function?.name });
        args += call.function?.arguments ?? "";
      }
      finish = choice.finish_reason ?? finish;
    }
    expect(text).toBe("Let me check.");
    expect(starts).toEqual([{ id: "toolu_fake1", name: "get_weather" }]);
    expect(JSON.parse(args)).toEqual({ city: "Paris" });
    expect(finish).toBe("tool_calls");
    expect(stream.usage()).toMatchObject({ prompt_tokens: 7, completion_tokens: 9 });
  });
});
