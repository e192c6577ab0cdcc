/**
 * @module gateway/connectors/ollama
 * Ollama's native API (`/api/chat`, `/api/generate`, `/api/embed`, `/api/tags`), with streaming NDJSON
 * turned into OpenAI chunks. The native API is used rather than Ollama's `/v1` shim because it reports
 * eval counts and `done_reason` on every version; a stream whose last line is not `done: true` throws.
 */
import { randomUUID } from "node:crypto";
import { parseJson, type ChatCompletionChunk, type ChatCompletionRequest } from "@kai/protocol";
import type { CallContext, ChatConnector, ConnectorStream } from "../../connector.js";
import { UpstreamError, redact } from "../../upstream/upstream-error.js";
import { callJson, openUpstream, parseUpstream, probeHealth } from "../../upstream/upstream-http.js";
import { encodeVector } from "../embedding-encoding.js";
import { wantsStreamUsage } from "../stream-usage.js";
import { bearerAuth } from "../support.js";
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_BYTES, upstreamRequests } from "../../upstream/upstream-request.js";
import { ndjsonLines, readBody, toConnectorStream, type UsageSlot } from "../../upstream/stream-reader.js";
import { createdOf, finishReason, toOllamaChat, toOllamaOptions, toolCallsOf, usageOf } from "./translate.js";
import { OllamaChatSchema, OllamaEmbedSchema, OllamaGenerateSchema, OllamaTagsSchema } from "./wire.js";
import { OLLAMA_PARAMETERS } from "./parameters.js";

const PROVIDER = "Ollama";

// Ollama has no auth of its own; a credential is sent as a bearer token for instances behind a proxy.
const request = upstreamRequests(PROVIDER, bearerAuth);

async function chatStream(chat: ChatCompletionRequest, context: CallContext): Promise<ConnectorStream> {
  const opened = await openUpstream(request("POST", "/api/chat", context, toOllamaChat(chat, true)));
  const slot: UsageSlot = {};
  const credential = context.target.credential;
  const includeUsage = wantsStreamUsage(chat);
  async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
    const id = `chatcmpl-${randomUUID()}`;
    let first = true;
    let toolCalls = 0;
    for await (const line of ndjsonLines(readBody(opened, PROVIDER, context.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, credential), PROVIDER, context.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES)) {
      const parsed = parseJson(line);
      if (parsed.ok && parsed.value && typeof parsed.value === "object" && typeof (parsed.value as { error?: unknown }).error === "string") {
        throw new UpstreamError("upstream_stream_broken", `${PROVIDER} reported an error mid-stream: ${redact((parsed.value as { error: string }).error, credential).slice(0, 300)}`);
      }
      const body = parseUpstream(PROVIDER, line, OllamaChatSchema);
      const base = { id, object: "chat.completion.chunk" as const, created: createdOf(body.created_at), model: body.model };
      const content = body.message?.content ?? "";
      // Ollama sends each tool call whole in one line; OpenAI clients accept a complete call as a single delta.
      const calls = toolCallsOf(body.message, `call_${toolCalls}`).map((call, index) => ({ index: toolCalls + index, ...call }));
      toolCalls += calls.length;
      const delta = { ...(first ? { role: "assistant" as const } : {}), ...(content || !body.done ? { content } : {}), ...(calls.length > 0 ? { tool_calls: calls } : {}) };
      first = false;
      if (!body.done) {
        yield { ...base, choices: [{ index: 0, delta, finish_reason: null }] };
        continue;
      }
      const usage = usageOf(body);
      slot.usage = usage;
      yield { ...base, choices: [{ index: 0, delta, finish_reason: toolCalls > 0 ? "tool_calls" : finishReason(body.done_reason) }] };
      // Like OpenAI: usage comes as its own closing chunk, and only when the caller asked for it.
      if (usage && includeUsage) yield { ...base, choices: [], usage };
      return;
    }
    throw new UpstreamError("upstream_stream_broken", `${PROVIDER} ended the stream before the final (done) line`);
  }
  return toConnectorStream(opened, chunks(), slot);
}

export const ollamaConnector: ChatConnector = {
  id: "ollama",
  displayName: PROVIDER,
  operations: new Set(["chat", "chat_stream", "completions", "embeddings", "models"]),
  parameters: OLLAMA_PARAMETERS,
  async chat(chat, context) {
    const { data, latencyMs } = await callJson(request("POST", "/api/chat", context, toOllamaChat(chat, false)), OllamaChatSchema);
    const usage = usageOf(data);
    const toolCalls = toolCallsOf(data.message, "call");
    return {
      data: {
        id: `chatcmpl-${randomUUID()}`,
        object: "chat.completion",
        created: createdOf(data.created_at),
        model: data.model,
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: data.message?.content ?? "", ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
            finish_reason: toolCalls.length > 0 ? "tool_calls" : finishReason(data.done_reason),
          },
        ],
        ...(usage ? { usage } : {}),
      },
      usage,
      latencyMs,
    };
  },
  chatStream,
  async completions(completion, context) {
    if (Array.isArray(completion.prompt)) throw new UpstreamError("upstream_bad_request", `${PROVIDER} /api/generate takes one prompt per request`);
    const body = { model: completion.model, prompt: completion.prompt, stream: false, options: toOllamaOptions(completion) };
    const { data, latencyMs } = await callJson(request("POST", "/api/generate", context, body), OllamaGenerateSchema);
    const usage = usageOf(data);
    return {
      data: {
        id: `cmpl-${randomUUID()}`,
        object: "text_completion",
        created: Math.floor(Date.now() / 1000),
        model: data.model,
        choices: [{ index: 0, text: data.response, finish_reason: finishReason(data.done_reason) }],
        ...(usage ? { usage } : {}),
      },
      usage,
      latencyMs,
    };
  },
  async embeddings(embedding, context) {
    const { data, latencyMs } = await callJson(request("POST", "/api/embed", context, { model: embedding.model, input: embedding.input }), OllamaEmbedSchema);
    const prompt = data.prompt_eval_count;
    const usage = prompt === undefined ? undefined : { prompt_tokens: prompt, completion_tokens: 0, total_tokens: prompt };
    return {
      data: {
        object: "list",
        model: data.model,
        // Ollama only answers floats; base64 (the openai client's default) is encoded here.
        data: data.embeddings.map((vector, index) => ({ object: "embedding", index, embedding: encodeVector(vector, embedding.encoding_format) })),
        ...(usage ? { usage: { prompt_tokens: usage.prompt_tokens, total_tokens: usage.total_tokens } } : {}),
      },
      usage,
      latencyMs,
    };
  },
  async listModels(context) {
    const { data } = await callJson(request("GET", "/api/tags", context), OllamaTagsSchema);
    return data.models.map((model) => ({ id: model.name }));
  },
  // `GET /` answers "Ollama is running" without loading a model.
  health: (context) => probeHealth(request("GET", "/", context)),
};
