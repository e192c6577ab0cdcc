/**
 * @module gateway/connectors/openai
 * OpenAI and every server that speaks its API (LM Studio, vLLM, llama.cpp server, Open WebUI, any
 * "OpenAI-compatible" endpoint). Requests are already in OpenAI shape, so the connector forwards them
 * as they are (unknown parameters included) and only validates what comes back. The variants differ in
 * path prefix, health endpoint and whether the server understands `stream_options.include_usage`.
 */
import {
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
  CompletionSchema,
  EmbeddingResponseSchema,
  ImageGenerationResponseSchema,
  ModelListSchema,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
} from "@kai/protocol";
import type { CallContext, ChatConnector, ConnectorOperation, ConnectorStream, UpstreamTarget } from "../../connector.js";
import { UpstreamError, providerMessage, redact } from "../../upstream/upstream-error.js";
import { callJson, openUpstream, parseUpstreamValue, probeHealth } from "../../upstream/upstream-http.js";
import { relayableText } from "../../upstream/upstream-text.js";
import { DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_BYTES, upstreamRequests } from "../../upstream/upstream-request.js";
import { readBody, sseEvents, toConnectorStream, type UsageSlot } from "../../upstream/stream-reader.js";
import { inEncoding } from "../embedding-encoding.js";
import { wantsStreamUsage } from "../stream-usage.js";
import type { ConnectorParameters } from "../parameters.js";
import { OPENAI_PARAMETERS, OPENAI_WITH_TOP_K_PARAMETERS } from "./parameters.js";

/** What distinguishes one OpenAI-compatible server from another. */
export interface OpenAICompatibleOptions {
  readonly id: string;
  readonly displayName: string;
  /** Prefix of the API paths: `/v1` for almost everyone, `/api` for Open WebUI. */
  readonly pathPrefix: string;
  /** Path of the liveness probe (below the base URL, not the prefix). */
  readonly healthPath: string;
  /** Ask for usage in the final stream chunk (`stream_options.include_usage`); some servers reject it. */
  readonly streamUsage: boolean;
  readonly operations: readonly ConnectorOperation[];
  /** The parameters this flavour's server reads (openai/parameters.ts); only those of offered operations are published. */
  readonly parameters: ConnectorParameters;
}

/**
 * The request with `stream` set, as `{ ...request, stream }` gives it. Object.assign copies a request's fields several
 * times faster than a spread of objects whose shapes vary; it would run the `__proto__` setter for an own `__proto__`
 * key (which parseJson strips from bodies, but a direct caller might pass), so that case keeps the spread.
 */
function withStream(request: object, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = Object.hasOwn(request, "__proto__") ? { ...request } : Object.assign({}, request as Record<string, unknown>);
  body.stream = stream;
  return body;
}

const authHeaders = (target: UpstreamTarget): Record<string, string> =>
  target.credential ? { authorization: `Bearer ${target.credential}` } : {};

/** Builds an OpenAI-compatible connector for one server flavour. */
export function createOpenAICompatibleConnector(options: OpenAICompatibleOptions): ChatConnector {
  const provider = options.displayName;
  const request = upstreamRequests(provider, authHeaders);
  const api = (path: string) => `${options.pathPrefix}${path}`;

  async function chatStream(chat: ChatCompletionRequest, context: CallContext): Promise<ConnectorStream> {
    const body = withStream(chat, true);
    // Usage is asked for to record it; the caller sees the closing usage chunk only if it asked too (stream-usage).
    const hideUsageChunk = options.streamUsage && !wantsStreamUsage(chat);
    if (options.streamUsage) body.stream_options = { ...(chat.stream_options as object | undefined), include_usage: true };
    const opened = await openUpstream(request("POST", api("/chat/completions"), context, body));
    const slot: UsageSlot = {};
    const credential = context.target.credential;
    async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
      let sawDone = false;
      let sawFinish = false;
      const events = sseEvents(readBody(opened, provider, context.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS, credential), provider, context.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
      for await (const event of events) {
        const data = event.data;
        // Only a short line can be the end marker (with spaces around it): no trim of every chunk.
        if (data === "[DONE]" || (data.length < 32 && data.trim() === "[DONE]")) {
          sawDone = true;
          break;
        }
        if (event.event === "error" || /^\s*\{\s*"error"/.test(data)) {
          throw new UpstreamError("upstream_stream_broken", `${provider} reported an error mid-stream: ${redact(providerMessage(data), credential).slice(0, 300)}`);
        }
        const { input, data: chunk } = parseUpstreamValue(provider, data, ChatCompletionChunkSchema);
        // Already in OpenAI shape: the front door can relay the provider's text instead of serialising the chunk again.
        slot.text = relayableText(input, data);
        if (chunk.usage) slot.usage = chunk.usage;
        if (chunk.choices.some((choice) => choice.finish_reason)) sawFinish = true;
        if (hideUsageChunk && chunk.choices.length === 0 && chunk.usage) continue;
        yield chunk;
      }
      // Servers that omit [DONE] still end with a finish_reason; without either, the answer was cut off.
      if (!sawDone && !sawFinish) throw new UpstreamError("upstream_stream_broken", `${provider} ended the stream before it was complete`);
    }
    return toConnectorStream(opened, chunks(), slot);
  }

  const operations = new Set(options.operations);
  const connector: ChatConnector = {
    id: options.id,
    displayName: options.displayName,
    operations,
    parameters: Object.fromEntries(Object.entries(options.parameters).filter(([operation]) => operations.has(operation as ConnectorOperation))),
    async chat(chat, context) {
      const { data, latencyMs, text, input } = await callJson(request("POST", api("/chat/completions"), context, withStream(chat, false)), ChatCompletionSchema);
      return { data, usage: data.usage, latencyMs, text: relayableText(input, text) };
    },
    chatStream,
    async completions(completion, context) {
      const { data, latencyMs } = await callJson(request("POST", api("/completions"), context, withStream(completion, false)), CompletionSchema);
      return { data, usage: data.usage, latencyMs };
    },
    async embeddings(embedding, context) {
      const { data, latencyMs } = await callJson(request("POST", api("/embeddings"), context, embedding), EmbeddingResponseSchema);
      const usage = data.usage ? { prompt_tokens: data.usage.prompt_tokens, completion_tokens: 0, total_tokens: data.usage.total_tokens } : undefined;
      // Some compatible servers ignore encoding_format and always answer floats: the caller gets what it asked for.
      return { data: inEncoding(data, embedding.encoding_format), usage, latencyMs };
    },
    async images(image, context) {
      const { data, latencyMs } = await callJson(request("POST", api("/images/generations"), context, image), ImageGenerationResponseSchema);
      return { data, latencyMs };
    },
    async listModels(context) {
      const { data } = await callJson(request("GET", api("/models"), context), ModelListSchema);
      return data.data.map((model) => ({ id: model.id, ...(model.owned_by ? { ownedBy: model.owned_by } : {}) }));
    },
    health: (context) => probeHealth(request("GET", options.healthPath, context)),
  };
  // Only offer what this flavour serves, so `connector.embeddings` being defined means it works.
  if (!operations.has("completions")) delete connector.completions;
  if (!operations.has("embeddings")) delete connector.embeddings;
  if (!operations.has("images")) delete connector.images;
  return connector;
}

const ALL: readonly ConnectorOperation[] = ["chat", "chat_stream", "completions", "embeddings", "images", "models"];
const TEXT: readonly ConnectorOperation[] = ["chat", "chat_stream", "completions", "embeddings", "models"];

/** api.openai.com (and anything that is exactly OpenAI). */
export const openaiConnector = createOpenAICompatibleConnector({ id: "openai", displayName: "OpenAI", pathPrefix: "/v1", healthPath: "/v1/models", streamUsage: true, operations: ALL, parameters: OPENAI_PARAMETERS });
/** A generic OpenAI-compatible server; no `stream_options`, since not every such server accepts it. */
export const openaiCompatibleConnector = createOpenAICompatibleConnector({ id: "openai-compatible", displayName: "OpenAI-compatible", pathPrefix: "/v1", healthPath: "/v1/models", streamUsage: false, operations: ALL, parameters: OPENAI_PARAMETERS });
/** LM Studio's local server (default port 1234). */
export const lmStudioConnector = createOpenAICompatibleConnector({ id: "lmstudio", displayName: "LM Studio", pathPrefix: "/v1", healthPath: "/v1/models", streamUsage: true, operations: TEXT, parameters: OPENAI_WITH_TOP_K_PARAMETERS });
/** vLLM's OpenAI server; `/health` answers 200 once the engine is up. */
export const vllmConnector = createOpenAICompatibleConnector({ id: "vllm", displayName: "vLLM", pathPrefix: "/v1", healthPath: "/health", streamUsage: true, operations: TEXT, parameters: OPENAI_WITH_TOP_K_PARAMETERS });
/** llama.cpp `llama-server`; `/health` answers 503 while the model loads, which is exactly "not ready". */
export const llamaCppConnector = createOpenAICompatibleConnector({ id: "llama-cpp", displayName: "llama.cpp server", pathPrefix: "/v1", healthPath: "/health", streamUsage: true, operations: TEXT, parameters: OPENAI_WITH_TOP_K_PARAMETERS });
/** Open WebUI exposes its OpenAI-style API under `/api` (`/api/chat/completions`, `/api/models`). */
export const openWebUiConnector = createOpenAICompatibleConnector({ id: "open-webui", displayName: "Open WebUI", pathPrefix: "/api", healthPath: "/health", streamUsage: false, operations: ["chat", "chat_stream", "models"], parameters: OPENAI_PARAMETERS });
