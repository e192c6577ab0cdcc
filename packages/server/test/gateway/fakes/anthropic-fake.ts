/**
 * @module test/gateway/fakes/anthropic-fake
 * A fake Anthropic Messages API speaking the real wire format: `POST /v1/messages` as JSON, or as SSE with
 * `event:`/`data:` pairs (message_start, content_block_start, ping, content_block_delta…, content_block_stop,
 * message_delta, message_stop); `GET /v1/models`; errors as `{"type":"error","error":{type,message}}`.
 * Requires `x-api-key` and `anthropic-version` like the real service.
 */
import type { ServerResponse } from "node:http";
import { ANSWER, FakeUpstream, PROMPT_TOKENS, TOKENS, type ProviderWire, type RecordedRequest } from "./fake-server.js";

export const ANTHROPIC_MODEL = "claude-fake-1";

const event = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
const errorType = (status: number) =>
  status === 429 ? "rate_limit_error" : status === 401 ? "authentication_error" : status === 404 ? "not_found_error" : status === 529 ? "overloaded_error" : status >= 500 ? "api_error" : "invalid_request_error";

export interface AnthropicFakeOptions {
  requireKey?: string;
}

export function anthropicWire(options: AnthropicFakeOptions = {}): ProviderWire {
  return {
    errorBody: (status, message) => ({ type: "error", error: { type: errorType(status), message } }),
    streamErrorFrame: (message) => event("error", { type: "error", error: { type: "overloaded_error", message } }),
    route(request: RecordedRequest, res: ServerResponse, fake: FakeUpstream) {
      if (!request.headers["anthropic-version"]) {
        return fake.sendJson(res, 400, { type: "error", error: { type: "invalid_request_error", message: "anthropic-version: header is required" } });
      }
      if (options.requireKey && request.headers["x-api-key"] !== options.requireKey) {
        return fake.sendJson(res, 401, { type: "error", error: { type: "authentication_error", message: `invalid x-api-key ${String(request.headers["x-api-key"])}` } });
      }
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (request.method === "GET" && request.path === "/v1/models") {
        return fake.sendJson(res, 200, { data: [{ type: "model", id: ANTHROPIC_MODEL, display_name: "Claude Fake", created_at: "2025-01-01T00:00:00Z" }], has_more: false, first_id: ANTHROPIC_MODEL, last_id: ANTHROPIC_MODEL });
      }
      if (request.method !== "POST" || request.path !== "/v1/messages") {
        return fake.sendJson(res, 404, { type: "error", error: { type: "not_found_error", message: "Not found" } });
      }
      if (body.model === "missing-model") {
        return fake.sendJson(res, 404, { type: "error", error: { type: "not_found_error", message: "model: missing-model" } });
      }
      if (typeof body.max_tokens !== "number") {
        return fake.sendJson(res, 400, { type: "error", error: { type: "invalid_request_error", message: "max_tokens: Field required" } });
      }
      const id = "msg_fake01";
      const tools = body.tools as Array<{ name: string }> | undefined;
      if (tools?.[0]) return toolAnswer(res, fake, id, tools[0].name, body.stream === true);
      if (body.stream === true) {
        void fake.stream(res, "text/event-stream; charset=utf-8", [
          event("message_start", { type: "message_start", message: { id, type: "message", role: "assistant", model: ANTHROPIC_MODEL, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: PROMPT_TOKENS, output_tokens: 1 } } }),
          event("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
          event("ping", { type: "ping" }),
          ...TOKENS.map((text) => event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } })),
          event("content_block_stop", { type: "content_block_stop", index: 0 }),
          event("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: TOKENS.length } }),
          event("message_stop", { type: "message_stop" }),
        ]);
        return;
      }
      return fake.sendJson(res, 200, {
        id,
        type: "message",
        role: "assistant",
        model: ANTHROPIC_MODEL,
        content: [{ type: "text", text: ANSWER }],
        stop_reason: "end_turn",
        stop_sequence: null,
        usage: { input_tokens: PROMPT_TOKENS, output_tokens: TOKENS.length },
      });
    },
  };
}

/** With tools offered, the fake answers like Claude does: a short text, then a tool_use block (input streamed as JSON pieces). */
function toolAnswer(res: ServerResponse, fake: FakeUpstream, id: string, name: string, stream: boolean): void {
  const usage = { input_tokens: PROMPT_TOKENS, output_tokens: 9 };
  if (!stream) {
    return fake.sendJson(res, 200, {
      id,
      type: "message",
      role: "assistant",
      model: ANTHROPIC_MODEL,
      content: [{ type: "text", text: "Let me check." }, { type: "tool_use", id: "toolu_fake1", name, input: { city: "Paris" } }],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage,
    });
  }
  void fake.stream(res, "text/event-stream; charset=utf-8", [
    event("message_start", { type: "message_start", message: { id, type: "message", role: "assistant", model: ANTHROPIC_MODEL, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: PROMPT_TOKENS, output_tokens: 1 } } }),
    event("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Let me check." } }),
    event("content_block_stop", { type: "content_block_stop", index: 0 }),
    event("content_block_start", { type: "content_block_start", index: 1, content_block: { type: "tool_use", id: "toolu_fake1", name, input: {} } }),
    event("content_block_delta", { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "" } }),
    event("content_block_delta", { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"city": ' } }),
    event("content_block_delta", { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '"Paris"}' } }),
    event("content_block_stop", { type: "content_block_stop", index: 1 }),
    event("message_delta", { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 9 } }),
    event("message_stop", { type: "message_stop" }),
  ]);
}

export const startAnthropicFake = (options: AnthropicFakeOptions = {}) => new FakeUpstream(anthropicWire(options)).start();
