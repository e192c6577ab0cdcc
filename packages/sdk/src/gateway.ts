/**
 * @module gateway
 * `client.gateway`: calling services through the gateway. Chat, embeddings and images go through the
 * OpenAI-compatible `/v1/*` front door (routing hints in the `x-kai-routing` header), the generic form
 * through `/api/route/{capability}`; `connectors()` says which request parameters each provider connector honours
 * (`/api/connectors`). Every answer says which service served it and what the gateway added.
 * Streams are read with eventsource-parser, and a stream the server ends with an in-band error throws
 * instead of ending as if it were complete.
 */
import {
  ChatCompletionChunkSchema,
  ChatCompletionSchema,
  ConnectorListSchema,
  EmbeddingResponseSchema,
  ErrorBodySchema,
  ImageGenerationResponseSchema,
  GATEWAY_HEADERS,
  ModelListSchema,
  RouteResponseSchema,
  parseJson,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
  type EmbeddingRequest,
  type ImageGenerationRequest,
  type RoutingHints,
} from "@kai/protocol";
import { KaiApiError } from "./errors.js";
import { traceIdOfResponse, type HttpTransport } from "./http-transport.js";
import { sseMessages } from "./sse.js";
import type { GatewayCallOptions, GatewayClient, GatewayStream, ServedInfo } from "./types.js";

/** LLM calls take far longer than registry calls; the client's default timeout would cut them off. */
const GATEWAY_TIMEOUT_MS = 300_000;

function routingHeaders(hints: RoutingHints | undefined): Record<string, string> {
  return hints ? { [GATEWAY_HEADERS.routing]: JSON.stringify(hints) } : {};
}

/** Who served a `/v1/*` answer, from its headers, in the same shape as the generic route's `servedBy`. */
function servedFrom(headers: Headers): ServedInfo {
  const traceId = traceIdOfResponse(headers.get("traceresponse"));
  const overhead = Number(headers.get(GATEWAY_HEADERS.overhead));
  const attempts = Number(headers.get(GATEWAY_HEADERS.attempts));
  const serviceId = headers.get(GATEWAY_HEADERS.service) ?? "";
  const provider = headers.get(GATEWAY_HEADERS.provider);
  return {
    servedBy: { id: serviceId, ...(provider ? { provider } : {}) },
    serviceId,
    attempts: Number.isFinite(attempts) && attempts > 0 ? attempts : 1,
    overheadMs: Number.isFinite(overhead) ? overhead : 0,
    ...(headers.get("x-request-id") ? { requestId: headers.get("x-request-id") as string } : {}),
    ...(traceId !== undefined ? { traceId } : {}),
  };
}

function callOptions(options: GatewayCallOptions | undefined) {
  return {
    headers: routingHeaders(options?.routingHints),
    timeoutMs: options?.timeoutMs ?? GATEWAY_TIMEOUT_MS,
    ...(options?.signal ? { signal: options.signal } : {}),
  };
}

/** Reads an SSE body into chat chunks; throws on an in-band error event or a body that ends without `[DONE]`. */
async function* readChunks(response: Response, served: ServedInfo): AsyncGenerator<ChatCompletionChunk> {
  for await (const event of sseMessages(response, (message) => message.data === "[DONE]")) {
    if (event.data === "[DONE]") return;
    const json = parseJson(event.data);
    if (!json.ok) throw new KaiApiError({ status: 200, code: "invalid_response", message: "the stream sent an event that is not JSON" });
    const error = ErrorBodySchema.safeParse(json.value);
    if (error.success) {
      // The gateway's in-band error: the stream broke after its first byte and was not completed.
      throw new KaiApiError({ status: 502, code: error.data.error.code, message: error.data.error.message, ...(served.requestId ? { requestId: served.requestId } : {}) });
    }
    const chunk = ChatCompletionChunkSchema.safeParse(json.value);
    if (!chunk.success) throw new KaiApiError({ status: 200, code: "invalid_response", message: "the stream sent a chunk that does not match the protocol" });
    yield chunk.data;
  }
  throw new KaiApiError({ status: 502, code: "upstream_stream_broken", message: "the stream ended without its end marker" });
}

export function createGatewayClient(http: HttpTransport): GatewayClient {
  return {
    async chat(request: ChatCompletionRequest, options?: GatewayCallOptions) {
      const answer = await http.request("POST", "/v1/chat/completions", { ...callOptions(options), body: { ...request, stream: false }, schema: ChatCompletionSchema });
      return { completion: answer.data, ...servedFrom(answer.headers) };
    },

    async chatStream(request: ChatCompletionRequest, options?: GatewayCallOptions): Promise<GatewayStream> {
      const response = await http.stream("POST", "/v1/chat/completions", { ...callOptions(options), body: { ...request, stream: true } });
      const served = servedFrom(response.headers);
      const chunks = readChunks(response, served);
      return Object.assign(chunks, served);
    },

    async embeddings(request: EmbeddingRequest, options?: GatewayCallOptions) {
      const answer = await http.request("POST", "/v1/embeddings", { ...callOptions(options), body: request, schema: EmbeddingResponseSchema });
      return { embeddings: answer.data, ...servedFrom(answer.headers) };
    },

    async images(request: ImageGenerationRequest, options?: GatewayCallOptions) {
      const answer = await http.request("POST", "/v1/images/generations", { ...callOptions(options), body: request, schema: ImageGenerationResponseSchema });
      return { images: answer.data, ...servedFrom(answer.headers) };
    },

    async models(options?: { signal?: AbortSignal; capability?: string }) {
      const query = options?.capability ? { query: { capability: options.capability } } : {};
      return (await http.request("GET", "/v1/models", { schema: ModelListSchema, ...query, ...(options?.signal ? { signal: options.signal } : {}) })).data.data;
    },

    async connectors(options?: { signal?: AbortSignal }) {
      return (await http.request("GET", "/api/connectors", { schema: ConnectorListSchema, ...(options?.signal ? { signal: options.signal } : {}) })).data.connectors;
    },

    async route(capability: string, request: unknown, options?: GatewayCallOptions & { operation?: string }) {
      const body = { request, ...(options?.operation ? { operation: options.operation } : {}), ...(options?.routingHints ? { routingHints: options.routingHints } : {}) };
      const { headers: _ignored, ...rest } = callOptions(options);
      void _ignored;
      return (await http.request("POST", `/api/route/${encodeURIComponent(capability)}`, { ...rest, body, schema: RouteResponseSchema })).data;
    },
  };
}
