/**
 * @module http/front-doors/openai-routes
 * The OpenAI-compatible front door: `/v1/chat/completions` (streaming and not), `/v1/completions`,
 * `/v1/embeddings`, `/v1/images/generations`, `/v1/audio/transcriptions` (multipart), `GET /v1/models` and
 * `GET /v1/models/{model}`.
 * `model` is a model name (routed to any service that serves it) or `<serviceId>/<model>` (pinned). The
 * official `openai` npm client works against it unchanged; routing hints ride in the `x-kai-routing` header.
 * Scope `gateway:invoke`; callers only ever reach services their token may see.
 */
import multipart from "@fastify/multipart";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  CapabilitySchema,
  PromptedChatCompletionRequestSchema,
  ChatCompletionSchema,
  CompletionRequestSchema,
  CompletionSchema,
  EmbeddingRequestSchema,
  EmbeddingResponseSchema,
  ImageGenerationRequestSchema,
  ImageGenerationResponseSchema,
  ModelEntrySchema,
  ModelListSchema,
  TranscriptionRequestSchema,
  TranscriptionResponseSchema,
  fieldErrorsFromZod,
} from "@kai/protocol";
import { z } from "zod";
import { ApiError } from "../../errors.js";
import { principalOf } from "../authenticate.js";
import type { NodeMetrics } from "../../metrics/metrics.js";
import type { RouteOperation, RequestOf, ResponseOf } from "../../gateway/router/operations.js";
import { modelNotFoundMessage } from "../../gateway/router/candidates.js";
import type { GatewayPort } from "./gateway-port.js";
import { GATEWAY_ERROR_RESPONSES, hintsFromHeader, markServed, routeContextOf } from "./request-context.js";
import { sseBody } from "./sse.js";
import { readUpload } from "../multipart-body.js";
import { withPromptMessages, type PromptRenderer } from "./prompted-chat.js";

/** OpenAI's own limit on audio uploads. */
const MAX_AUDIO_BYTES = 25 * 1024 * 1024;
/** The whole upload: the audio file and a few short text fields (model, language, prompt, …). */
const AUDIO_UPLOAD = { fileBytes: MAX_AUDIO_BYTES, fields: 16, fieldBytes: 64 * 1024 };

const errors = GATEWAY_ERROR_RESPONSES;
const gatewayConfig = { scopes: ["gateway:invoke" as const], bucket: "gateway" as const };

/** `prompts`: the prompt store, for a `prompt` reference on `/v1/chat/completions` (issue 17). */
export function openAiRoutes(gateway: GatewayPort, metrics: NodeMetrics, prompts?: PromptRenderer): FastifyPluginAsyncZod {
  return async (app) => {

    /** Routes one non-streaming operation and answers with the served-by headers. */
    async function routed<O extends RouteOperation>(operation: O, request: FastifyRequest, reply: FastifyReply, body: unknown = request.body): Promise<ResponseOf<O>> {
      const started = performance.now();
      const context = routeContextOf(request, reply, hintsFromHeader(request));
      const preRouteMs = performance.now() - started;
      const result = await gateway.route(operation, body as RequestOf<O>, context);
      markServed(reply, result, preRouteMs, metrics);
      return result.data;
    }

    app.post("/v1/chat/completions", {
      config: gatewayConfig,
      schema: {
        tags: ["gateway"],
        summary: "Chat completion (OpenAI-compatible; `stream: true` answers server-sent events)",
        description:
          "Optional `prompt: {name, version?|label?, variables}` (needs `prompts:read`): the stored prompt is rendered and its messages " +
          "go before `messages`; the version used is in the `x-kai-prompt-version` header.",
        security: [{ bearer: [] }],
        body: PromptedChatCompletionRequestSchema,
        response: { 200: ChatCompletionSchema, ...errors },
      },
    }, async (request, reply) => {
      const body = await withPromptMessages(request.body, request, reply, prompts);
      if (body.stream !== true) {
        const started = performance.now();
        const context = routeContextOf(request, reply, hintsFromHeader(request));
        const preRouteMs = performance.now() - started;
        const result = await gateway.route("chat", body, context);
        markServed(reply, result, preRouteMs, metrics);
        // The provider's own JSON when it is the same answer (RouteResult.text): no second serialisation.
        return result.text === undefined ? result.data : reply.type("application/json; charset=utf-8").send(result.text as unknown as typeof result.data);
      }
      const started = performance.now();
      const context = routeContextOf(request, reply, hintsFromHeader(request));
      const preRouteMs = performance.now() - started;
      const stream = await gateway.routeStream(body, context);
      markServed(reply, stream, preRouteMs, metrics);
      reply.header("content-type", "text/event-stream; charset=utf-8").header("cache-control", "no-cache").header("x-accel-buffering", "no");
      // The SSE body is a stream, not the JSON shape the schema documents for the non-streaming answer.
      return reply.send(sseBody(stream) as unknown as z.infer<typeof ChatCompletionSchema>);
    });

    app.post("/v1/completions", {
      config: gatewayConfig,
      schema: { tags: ["gateway"], summary: "Text completion (OpenAI-compatible)", security: [{ bearer: [] }], body: CompletionRequestSchema, response: { 200: CompletionSchema, ...errors } },
    }, async (request, reply) => {
      if ((request.body as { stream?: unknown }).stream === true) {
        throw new ApiError("validation_failed", "streaming is supported on /v1/chat/completions only", [{ path: "body.stream", message: "use /v1/chat/completions for streaming" }]);
      }
      return routed("completions", request, reply);
    });

    app.post("/v1/embeddings", {
      config: gatewayConfig,
      schema: { tags: ["gateway"], summary: "Embeddings (OpenAI-compatible)", security: [{ bearer: [] }], body: EmbeddingRequestSchema, response: { 200: EmbeddingResponseSchema, ...errors } },
    }, async (request, reply) => routed("embeddings", request, reply));

    app.post("/v1/images/generations", {
      config: gatewayConfig,
      schema: { tags: ["gateway"], summary: "Image generation (OpenAI-compatible; A1111, ComfyUI and OpenAI-style services)", security: [{ bearer: [] }], body: ImageGenerationRequestSchema, response: { 200: ImageGenerationResponseSchema, ...errors } },
    }, async (request, reply) => routed("images", request, reply));

    // Multipart parsing only where audio is uploaded: every other route refuses a non-JSON body with 415.
    await app.register(async (scope) => {
      await scope.register(multipart, { limits: { fileSize: MAX_AUDIO_BYTES, files: 1, fields: 16 } });
      scope.post("/v1/audio/transcriptions", {
        config: gatewayConfig,
        schema: {
          tags: ["gateway"],
          summary: "Audio transcription (OpenAI-compatible multipart upload: file, model, language, prompt, response_format)",
          security: [{ bearer: [] }],
          consumes: ["multipart/form-data"],
          response: { 200: TranscriptionResponseSchema.or(z.string()), ...errors },
        },
      }, async (request, reply) => {
        if (!request.isMultipart()) throw new ApiError("unsupported_media_type", "send the audio as multipart/form-data");
        // Limits enforced while the upload arrives (413 at once), malformed multipart a 400: http/multipart-body.ts.
        const upload = await readUpload(request, AUDIO_UPLOAD);
        const fields: Record<string, unknown> = { ...upload.fields };
        if (upload.fields.temperature !== undefined) fields.temperature = Number(upload.fields.temperature);
        const file = upload.file && { ...upload.file, filename: upload.file.filename || "audio.wav" };
        if (!file) throw new ApiError("validation_failed", "no audio file", [{ path: "body.file", message: "required" }]);
        const parsed = TranscriptionRequestSchema.safeParse({ ...fields, file: file.bytes, filename: file.filename, mimeType: file.mimeType });
        if (!parsed.success) throw new ApiError("validation_failed", "invalid transcription request", fieldErrorsFromZod(parsed.error));
        const answer = await routed("transcriptions", request, reply, parsed.data);
        const format = parsed.data.response_format;
        // Plain formats go back as text, like OpenAI's own endpoint.
        if (format === "text" || format === "srt" || format === "vtt") return reply.type("text/plain; charset=utf-8").send(answer.text);
        return answer;
      });
    });

    app.get("/v1/models", {
      config: gatewayConfig,
      schema: {
        tags: ["gateway"],
        summary: "Models across the services this token may see (`<serviceId>/<model>` pins a service); `?capability=llm_chat` keeps those of services offering it",
        security: [{ bearer: [] }],
        querystring: z.strictObject({ capability: CapabilitySchema.optional() }),
        response: { 200: ModelListSchema, ...errors },
      },
    }, async (request) => ({ object: "list" as const, data: await gateway.models(principalOf(request), request.query.capability) }));

    // The client's `models.retrieve`: any id the list gives (plain or `<serviceId>/<model>`, whose slash arrives as %2F).
    app.get("/v1/models/:model", {
      config: gatewayConfig,
      schema: {
        tags: ["gateway"],
        summary: "One model this token may use, as OpenAI's model object (404 `model_not_found` otherwise)",
        security: [{ bearer: [] }],
        params: z.strictObject({ model: z.string().min(1).max(1024) }),
        response: { 200: ModelEntrySchema, ...errors },
      },
    }, async (request) => {
      const id = request.params.model;
      const model = (await gateway.models(principalOf(request))).find((entry) => entry.id === id);
      if (!model) throw new ApiError("model_not_found", modelNotFoundMessage(id));
      return model;
    });
  };
}
