/**
 * @module gateway/connectors/anthropic
 * Anthropic's Messages API behind the OpenAI chat shape, streaming included: `message_start` becomes the
 * role chunk, `content_block_delta` text becomes content chunks, `message_delta` the finish reason, and
 * `message_stop` a final usage chunk when the caller asked for it (`stream_options.include_usage`, as OpenAI
 * sends it only then; the usage is recorded either way). A stream without `message_stop`,
 * or with an `error` event, throws.
 */
import type { ChatCompletionChunk, ChatCompletionRequest } from "@kai/protocol";
import type { CallContext, ChatConnector, ConnectorStream } from "../../connector.js";
import { UpstreamError, redact } from "../../upstream/upstream-error.js";
import { callJson, openUpstream, parseUpstream, probeHealth } from "../../upstream/upstream-http.js";
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_BYTES, upstreamRequests } from "../../upstream/upstream-request.js";
import { readBody, sseEvents, toConnectorStream, type UsageSlot } from "../../upstream/stream-reader.js";
import { wantsStreamUsage } from "../stream-usage.js";
import { finishReason, fromAnthropicMessage, toAnthropicRequest, toToolCall, toUsage } from "./translate.js";
import { AnthropicMessageSchema, AnthropicModelListSchema, AnthropicStreamEventSchema } from "./wire.js";
import { ANTHROPIC_PARAMETERS } from "./parameters.js";

/** The API version we speak; Anthropic requires the header on every call. */
export const ANTHROPIC_VERSION = "2023-06-01";
const PROVIDER = "Anthropic";

const request = upstreamRequests(PROVIDER, (target) => ({ "anthropic-version": ANTHROPIC_VERSION, ...(target.credential ? { "x-api-key": target.credential } : {}) }));

async function chatStream(chat: ChatCompletionRequest, context: CallContext): Promise<ConnectorStream> {
  const opened = await openUpstream(request("POST", "/v1/messages", context, toAnthropicRequest(chat, true)));
  const slot: UsageSlot = {};
  const credential = context.target.credential;
  const includeUsage = wantsStreamUsage(chat);
  async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
    let id = "";
    let model = chat.model;
    let inputTokens = 0;
    let outputTokens = 0;
    const toolIndex = new Map<number, number>();
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: ChatCompletionChunk["choices"][number]["delta"], finish: ChatCompletionChunk["choices"][number]["finish_reason"] = null): ChatCompletionChunk => ({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    for await (const raw of sseEvents(readBody(opened, PROVIDER, context.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, credential), PROVIDER, context.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES)) {
      const event = parseUpstream(PROVIDER, raw.data, AnthropicStreamEventSchema);
      switch (event.type) {
        case "message_start":
          id = event.message.id;
          model = event.message.model;
          inputTokens = event.message.usage?.input_tokens ?? 0;
          outputTokens = event.message.usage?.output_tokens ?? 0;
          yield chunk({ role: "assistant", content: "" });
          break;
        case "content_block_start":
          if (event.content_block.type === "tool_use") {
            // OpenAI numbers tool calls 0..n within the message; Anthropic numbers all content blocks.
            toolIndex.set(event.index, toolIndex.size);
            const call = toToolCall({ ...event.content_block, input: {} });
            yield chunk({ tool_calls: [{ index: toolIndex.get(event.index), id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] });
          } else if (event.content_block.text) yield chunk({ content: event.content_block.text });
          break;
        case "content_block_delta":
          if (event.delta.type === "text_delta" && event.delta.text) yield chunk({ content: event.delta.text });
          else if (event.delta.type === "input_json_delta" && event.delta.partial_json && toolIndex.has(event.index)) {
            yield chunk({ tool_calls: [{ index: toolIndex.get(event.index), function: { arguments: event.delta.partial_json } }] });
          }
          // thinking/signature deltas are not translated yet.
          break;
        case "message_delta":
          if (event.usage?.output_tokens !== undefined) outputTokens = event.usage.output_tokens;
          if (event.usage?.input_tokens !== undefined) inputTokens = event.usage.input_tokens;
          yield chunk({}, finishReason(event.delta.stop_reason) ?? "stop");
          break;
        case "message_stop": {
          const usage = toUsage(inputTokens, outputTokens);
          slot.usage = usage;
          if (includeUsage) yield { id, object: "chat.completion.chunk", created, model, choices: [], usage };
          return;
        }
        case "error":
          throw new UpstreamError("upstream_stream_broken", `${PROVIDER} reported ${event.error.type} mid-stream: ${redact(event.error.message, credential).slice(0, 300)}`);
        default:
          break; // ping, content_block_stop
      }
    }
    throw new UpstreamError("upstream_stream_broken", `${PROVIDER} ended the stream before message_stop`);
  }
  return toConnectorStream(opened, chunks(), slot);
}

export const anthropicConnector: ChatConnector = {
  id: "anthropic",
  displayName: PROVIDER,
  operations: new Set(["chat", "chat_stream", "models"]),
  parameters: ANTHROPIC_PARAMETERS,
  async chat(chat, context) {
    const { data, latencyMs } = await callJson(request("POST", "/v1/messages", context, toAnthropicRequest(chat, false)), AnthropicMessageSchema);
    const completion = fromAnthropicMessage(data);
    return { data: completion, usage: completion.usage, latencyMs };
  },
  chatStream,
  async listModels(context) {
    const { data } = await callJson(request("GET", "/v1/models", context), AnthropicModelListSchema);
    return data.data.map((model) => ({ id: model.id, ownedBy: "anthropic" }));
  },
  health: (context) => probeHealth(request("GET", "/v1/models", context)),
};
