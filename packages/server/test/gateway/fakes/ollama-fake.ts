/**
 * @module test/gateway/fakes/ollama-fake
 * A fake Ollama speaking its native API: `/api/chat` and `/api/generate` (JSON, or NDJSON lines ending in a
 * `done: true` line with eval counts), `/api/embed`, `/api/tags`, and `GET /` ("Ollama is running").
 * Errors are `{"error":"…"}`, as Ollama sends them.
 */
import type { ServerResponse } from "node:http";
import { ANSWER, FakeUpstream, PROMPT_TOKENS, TOKENS, type ProviderWire, type RecordedRequest } from "./fake-server.js";

export const OLLAMA_MODEL = "llama-fake:1b";
const CREATED_AT = "2025-06-01T12:00:00.000000Z";
const line = (data: unknown) => `${JSON.stringify(data)}\n`;
const counts = { total_duration: 123_000_000, load_duration: 1_000_000, prompt_eval_count: PROMPT_TOKENS, prompt_eval_duration: 2_000_000, eval_count: TOKENS.length, eval_duration: 100_000_000 };

export interface OllamaFakeOptions {
  /** Ollama has no auth; a reverse proxy in front may demand a bearer token. */
  requireKey?: string;
}

export function ollamaWire(options: OllamaFakeOptions = {}): ProviderWire {
  return {
    errorBody: (_status, message) => ({ error: message }),
    streamErrorFrame: (message) => line({ error: message }),
    route(request: RecordedRequest, res: ServerResponse, fake: FakeUpstream) {
      if (request.method === "GET" && request.path === "/") {
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
        res.end("Ollama is running");
        return;
      }
      if (options.requireKey && request.headers.authorization !== `Bearer ${options.requireKey}`) {
        return fake.sendJson(res, 401, { error: `unauthorized: ${String(request.headers.authorization)}` });
      }
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (body.model === "missing-model") return fake.sendJson(res, 404, { error: `model "missing-model" not found, try pulling it first` });
      switch (`${request.method} ${request.path}`) {
        case "GET /api/tags":
          return fake.sendJson(res, 200, { models: [{ name: OLLAMA_MODEL, model: OLLAMA_MODEL, modified_at: CREATED_AT, size: 1_000_000, digest: "sha256:fake", details: { format: "gguf", family: "llama", parameter_size: "1B", quantization_level: "Q4_K_M" } }] });
        case "POST /api/chat":
          if (Array.isArray(body.tools) && body.tools.length > 0) {
            // Like Ollama: the tool call arrives whole (arguments as an object, no id), then the done line.
            const name = String((body.tools[0] as { function?: { name?: string } }).function?.name);
            const message = { role: "assistant", content: "", tool_calls: [{ function: { name, arguments: { city: "Paris" } } }] };
            if (body.stream === false) return fake.sendJson(res, 200, { model: OLLAMA_MODEL, created_at: CREATED_AT, message, done: true, done_reason: "stop", ...counts });
            void fake.stream(res, "application/x-ndjson", [
              line({ model: OLLAMA_MODEL, created_at: CREATED_AT, message, done: false }),
              line({ model: OLLAMA_MODEL, created_at: CREATED_AT, message: { role: "assistant", content: "" }, done: true, done_reason: "stop", ...counts }),
            ]);
            return;
          }
          if (body.stream !== false) {
            void fake.stream(res, "application/x-ndjson", [
              ...TOKENS.map((content) => line({ model: OLLAMA_MODEL, created_at: CREATED_AT, message: { role: "assistant", content }, done: false })),
              line({ model: OLLAMA_MODEL, created_at: CREATED_AT, message: { role: "assistant", content: "" }, done: true, done_reason: "stop", ...counts }),
            ]);
            return;
          }
          return fake.sendJson(res, 200, { model: OLLAMA_MODEL, created_at: CREATED_AT, message: { role: "assistant", content: ANSWER }, done: true, done_reason: "stop", ...counts });
        case "POST /api/generate":
          return fake.sendJson(res, 200, { model: OLLAMA_MODEL, created_at: CREATED_AT, response: ANSWER, done: true, done_reason: "stop", context: [1, 2, 3], ...counts });
        case "POST /api/embed": {
          const inputs = Array.isArray(body.input) ? body.input : [body.input];
          return fake.sendJson(res, 200, { model: String(body.model), embeddings: inputs.map(() => [0.1, 0.2, 0.3]), total_duration: 1000, load_duration: 10, prompt_eval_count: 3 });
        }
        default:
          return fake.sendJson(res, 404, { error: "404 page not found" });
      }
    },
  };
}

export const startOllamaFake = (options: OllamaFakeOptions = {}) => new FakeUpstream(ollamaWire(options)).start();
