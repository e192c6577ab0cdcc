/**
 * @module test/gateway/fakes/whisper-fake
 * A fake OpenAI-style transcription server (Speaches / faster-whisper-server style): `POST /v1/audio/transcriptions`
 * parses the real multipart body (with undici's own parser, via `Response.formData()`) and answers in the
 * requested `response_format` (json, verbose_json with segments and words, text, srt, vtt); `GET /v1/models`;
 * `GET /health`. Errors are OpenAI's `{error: {message, type, code}}`. The last parsed form is kept for tests.
 */
import type { ServerResponse } from "node:http";
import { FakeUpstream, type ProviderWire, type RecordedRequest } from "./fake-server.js";

export const WHISPER_MODEL = "Systran/faster-whisper-small";
/** A model whose answers carry token usage, like OpenAI's gpt-4o-transcribe. */
export const TOKEN_MODEL = "gpt-4o-transcribe";
export const TRANSCRIPT = "Hello from the fake.";

/** What the fake saw in the last multipart upload. */
export interface SeenForm {
  fields: Record<string, string[]>;
  file?: { name: string; type: string; size: number; bytes: Buffer };
}

export interface WhisperFakeOptions {
  requireKey?: string;
  /** Answer 404 on `/v1/models`, as single-model servers do. */
  noModels?: boolean;
}

export function whisperWire(options: WhisperFakeOptions, seen: { last?: SeenForm }): ProviderWire {
  return {
    errorBody: (_status, message) => ({ error: { message, type: "server_error", param: null, code: null } }),
    streamErrorFrame: () => "",
    route(request: RecordedRequest, res: ServerResponse, fake: FakeUpstream) {
      if (request.path === "/health") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("OK");
        return;
      }
      if (options.requireKey && request.headers.authorization !== `Bearer ${options.requireKey}`) {
        return fake.sendJson(res, 401, { error: { message: `Incorrect API key provided: ${String(request.headers.authorization).slice(7)}`, type: "invalid_request_error", param: null, code: "invalid_api_key" } });
      }
      if (request.method === "GET" && request.path === "/v1/models") {
        if (options.noModels) return fake.sendJson(res, 404, { detail: "Not Found" });
        return fake.sendJson(res, 200, { object: "list", data: [{ id: WHISPER_MODEL, object: "model", created: 1700000000, owned_by: "Systran" }] });
      }
      if (request.method !== "POST" || request.path !== "/v1/audio/transcriptions") return fake.sendJson(res, 404, { detail: "Not Found" });
      void (async () => {
        const contentType = request.headers["content-type"] ?? "";
        if (!contentType.startsWith("multipart/form-data")) return fake.sendJson(res, 400, { error: { message: "expected multipart/form-data", type: "invalid_request_error" } });
        const form = await new Response(request.raw, { headers: { "content-type": contentType } }).formData();
        const fields: Record<string, string[]> = {};
        let file: SeenForm["file"];
        for (const [name, value] of form) {
          if (typeof value === "string") (fields[name] ??= []).push(value);
          else file = { name: value.name, type: value.type, size: value.size, bytes: Buffer.from(await value.arrayBuffer()) };
        }
        seen.last = { fields, ...(file ? { file } : {}) };
        if (!file || file.size === 0) return fake.sendJson(res, 400, { error: { message: "file is required", type: "invalid_request_error", param: "file" } });
        const model = fields.model?.[0];
        if (model === "missing-model") return fake.sendJson(res, 404, { error: { message: `Model '${model}' not found`, type: "invalid_request_error", code: "model_not_found" } });
        const format = fields.response_format?.[0] ?? "json";
        const language = fields.language?.[0] ?? "en";
        const plain = (type: string, text: string) => {
          res.writeHead(200, { "content-type": `${type}; charset=utf-8` });
          res.end(text);
        };
        switch (format) {
          case "text":
            return plain("text/plain", `${TRANSCRIPT}\n`);
          case "srt":
            return plain("text/plain", `1\n00:00:00,000 --> 00:00:01,500\n${TRANSCRIPT}\n\n`);
          case "vtt":
            return plain("text/vtt", `WEBVTT\n\n00:00:00.000 --> 00:00:01.500\n${TRANSCRIPT}\n\n`);
          case "verbose_json": {
            const words = (fields["timestamp_granularities[]"] ?? []).includes("word")
              ? TRANSCRIPT.split(" ").map((word, index) => ({ word, start: index * 0.3, end: index * 0.3 + 0.25 }))
              : undefined;
            return fake.sendJson(res, 200, { task: "transcribe", language, duration: 1.5, text: TRANSCRIPT, segments: [{ id: 0, seek: 0, start: 0, end: 1.5, text: TRANSCRIPT, tokens: [1, 2], temperature: 0, avg_logprob: -0.2, compression_ratio: 1, no_speech_prob: 0.01 }], ...(words ? { words } : {}) });
          }
          default:
            return fake.sendJson(res, 200, { text: TRANSCRIPT, ...(model === TOKEN_MODEL ? { usage: { type: "tokens", input_tokens: 14, output_tokens: 5, total_tokens: 19, input_token_details: { audio_tokens: 14, text_tokens: 0 } } } : {}) });
        }
      })();
    },
  };
}

export async function startWhisperFake(options: WhisperFakeOptions = {}): Promise<{ fake: FakeUpstream; seen: { last?: SeenForm } }> {
  const seen: { last?: SeenForm } = {};
  return { fake: await new FakeUpstream(whisperWire(options, seen)).start(), seen };
}
