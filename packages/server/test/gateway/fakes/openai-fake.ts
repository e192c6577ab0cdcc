/**
 * @module test/gateway/fakes/openai-fake
 * A fake OpenAI server speaking the real wire format: `/v1/chat/completions` (JSON, or SSE `data:` chunks
 * ending in `data: [DONE]`, with a usage chunk when `stream_options.include_usage` is set), `/v1/completions`,
 * `/v1/embeddings` (float or base64, as `encoding_format` asks), `/v1/images/generations`, `/v1/models`, `/health`. Also serves the same routes under
 * `/api` (Open WebUI). Auth errors echo the presented key, as real providers partly do, to prove redaction.
 */
import type { ServerResponse } from "node:http";
import { ANSWER, FakeUpstream, PROMPT_TOKENS, TOKENS, type ProviderWire, type RecordedRequest } from "./fake-server.js";

export const OPENAI_MODEL = "gpt-fake";
const CREATED = 1_700_000_000;

const sse = (data: unknown) => `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
  id: "chatcmpl-fake",
  object: "chat.completion.chunk",
  created: CREATED,
  model: OPENAI_MODEL,
  system_fingerprint: "fp_fake",
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
});
const usage = { prompt_tokens: PROMPT_TOKENS, completion_tokens: TOKENS.length, total_tokens: PROMPT_TOKENS + TOKENS.length };

export interface OpenAIFakeOptions {
  /** When set, requests must carry `Authorization: Bearer <key>`. */
  requireKey?: string;
  /** The models `GET /v1/models` lists (default: the chat and embedding fakes). */
  models?: string[];
  /** Answer embeddings as float arrays whatever `encoding_format` says, as some OpenAI-compatible servers do. */
  ignoreEncodingFormat?: boolean;
}

/** OpenAI's base64 embedding: the float32 little-endian bytes of the vector. */
const base64Of = (vector: number[]) => Buffer.from(new Float32Array(vector).buffer).toString("base64");

export function openaiWire(options: OpenAIFakeOptions = {}): ProviderWire {
  const wire: ProviderWire = {
    errorBody: (status, message) => ({ error: { message, type: status === 429 ? "requests" : "server_error", param: null, code: status === 429 ? "rate_limit_exceeded" : null } }),
    streamErrorFrame: (message) => sse({ error: { message, type: "server_error", param: null, code: null } }),
    route(request: RecordedRequest, res: ServerResponse, fake: FakeUpstream) {
      const path = request.path.replace(/^\/api\//, "/v1/");
      if (path === "/health") return fake.sendJson(res, 200, { status: "ok" });
      if (options.requireKey && request.headers.authorization !== `Bearer ${options.requireKey}`) {
        const presented = (request.headers.authorization ?? "").replace(/^Bearer /, "");
        return fake.sendJson(res, 401, { error: { message: `Incorrect API key provided: ${presented}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: "invalid_request_error", param: null, code: "invalid_api_key" } });
      }
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (body.model === "missing-model") {
        return fake.sendJson(res, 404, { error: { message: "The model `missing-model` does not exist or you do not have access to it.", type: "invalid_request_error", param: null, code: "model_not_found" } });
      }
      switch (`${request.method} ${path}`) {
        case "GET /v1/models":
          return fake.sendJson(res, 200, { object: "list", data: (options.models ?? [OPENAI_MODEL, "text-embedding-fake"]).map((id) => ({ id, object: "model", created: CREATED, owned_by: "fake-org" })) });
        case "POST /v1/chat/completions": {
          if (body.stream === true) {
            const frames = [sse(chunk({ role: "assistant", content: "", refusal: null }, null)), ...TOKENS.map((token) => sse(chunk({ content: token }, null))), sse(chunk({}, "stop"))];
            if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) frames.push(sse({ ...chunk({}, null), choices: [], usage }));
            frames.push(sse("[DONE]"));
            void fake.stream(res, "text/event-stream; charset=utf-8", frames);
            return;
          }
          return fake.sendJson(res, 200, {
            id: "chatcmpl-fake",
            object: "chat.completion",
            created: CREATED,
            model: OPENAI_MODEL,
            system_fingerprint: "fp_fake",
            choices: [{ index: 0, message: { role: "assistant", content: ANSWER, refusal: null, annotations: [] }, logprobs: null, finish_reason: "stop" }],
            usage: { ...usage, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
            service_tier: "default",
          });
        }
        case "POST /v1/completions":
          return fake.sendJson(res, 200, { id: "cmpl-fake", object: "text_completion", created: CREATED, model: OPENAI_MODEL, choices: [{ index: 0, text: ANSWER, logprobs: null, finish_reason: "stop" }], usage });
        case "POST /v1/embeddings": {
          const inputs = Array.isArray(body.input) ? body.input : [body.input];
          const base64 = body.encoding_format === "base64" && !options.ignoreEncodingFormat;
          const embedding = base64 ? base64Of([0.1, 0.2, 0.3]) : [0.1, 0.2, 0.3];
          return fake.sendJson(res, 200, { object: "list", data: inputs.map((_, index) => ({ object: "embedding", index, embedding })), model: String(body.model), usage: { prompt_tokens: 3, total_tokens: 3 } });
        }
        case "POST /v1/images/generations":
          return fake.sendJson(res, 200, { created: CREATED, data: [{ url: "https://images.example/fake.png", revised_prompt: String(body.prompt) }] });
        default:
          return fake.sendJson(res, 404, { error: { message: `Invalid URL (${request.method} ${request.path})`, type: "invalid_request_error", param: null, code: null } });
      }
    },
  };
  return wire;
}

export const startOpenAIFake = (options: OpenAIFakeOptions = {}) => new FakeUpstream(openaiWire(options)).start();
