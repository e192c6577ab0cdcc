/**
 * @module gateway/connectors/whisper
 * OpenAI-style speech-to-text servers for `audio_transcription`: `POST /v1/audio/transcriptions` as multipart
 * (`file`, `model`, `language`, `prompt`, `response_format`, `temperature`, `timestamp_granularities[]`), the
 * API that faster-whisper-server/Speaches, LocalAI, vLLM's audio endpoint and OpenAI itself accept. The
 * multipart body is built with the global `FormData`/`Blob` (undici), which picks the boundary and encodes
 * the parts. JSON formats are validated; `text`, `srt` and `vtt` answers are returned as `{text}`.
 */
import { TranscriptionRequestSchema, type TranscriptionResponse, type Usage } from "@kai/protocol";
import type { Connector } from "../../connector.js";
import { UpstreamError } from "../../upstream/upstream-error.js";
import { callBytes, callJson, parseUpstream, probeHealth } from "../../upstream/upstream-http.js";
import { upstreamRequests } from "../../upstream/upstream-request.js";
import { bearerAuth, parseInput, refined } from "../support.js";
import { TranscriptionBodySchema, WhisperModelsSchema } from "./wire.js";
import { WHISPER_PARAMETERS } from "./parameters.js";

export interface TranscriptionServerOptions {
  readonly id: string;
  readonly displayName: string;
  /** Liveness path below the base URL. */
  readonly healthPath: string;
}

/** The multipart body, field names as OpenAI defines them. */
function formOf(request: ReturnType<typeof TranscriptionRequestSchema.parse>): FormData {
  const form = new FormData();
  // Copy into a fresh ArrayBuffer-backed view: a Buffer may be a slice of Node's shared pool.
  form.append("file", new Blob([new Uint8Array(request.file)], { type: request.mimeType ?? "application/octet-stream" }), request.filename);
  form.append("model", request.model);
  if (request.language !== undefined) form.append("language", request.language);
  if (request.prompt !== undefined) form.append("prompt", request.prompt);
  if (request.response_format !== undefined) form.append("response_format", request.response_format);
  if (request.temperature !== undefined) form.append("temperature", String(request.temperature));
  for (const granularity of request.timestamp_granularities ?? []) form.append("timestamp_granularities[]", granularity);
  return form;
}

/** Token usage when the server reports it (OpenAI's newer models); audio-seconds billing is not token usage. */
function usageOf(body: TranscriptionResponse): Usage | undefined {
  const usage = body.usage;
  if (usage?.type !== "tokens" || usage.input_tokens === undefined) return undefined;
  const completion = usage.output_tokens ?? 0;
  return { prompt_tokens: usage.input_tokens, completion_tokens: completion, total_tokens: usage.total_tokens ?? usage.input_tokens + completion };
}

/** Builds a connector for one OpenAI-style transcription server flavour. */
export function createTranscriptionConnector(options: TranscriptionServerOptions): Connector {
  const provider = options.displayName;
  const request = upstreamRequests(provider, bearerAuth);
  return {
    id: options.id,
    displayName: provider,
    operations: new Set(["transcriptions", "models"]),
    parameters: WHISPER_PARAMETERS,
    transcriptions: (input, context) =>
      refined(async () => {
        const transcription = parseInput(TranscriptionRequestSchema, input);
        const { bytes, latencyMs } = await callBytes(request("POST", "/v1/audio/transcriptions", context, formOf(transcription)));
        const text = new TextDecoder().decode(bytes);
        const format = transcription.response_format ?? "json";
        const data = format === "json" || format === "verbose_json" ? parseUpstream(provider, text, TranscriptionBodySchema) : { text };
        const usage = usageOf(data);
        return { data, ...(usage ? { usage } : {}), latencyMs };
      }),
    async listModels(context) {
      try {
        const { data } = await callJson(request("GET", "/v1/models", context), WhisperModelsSchema);
        return data.data.map((model) => ({ id: model.id, ...(model.owned_by ? { ownedBy: model.owned_by } : {}) }));
      } catch (error) {
        // Not every transcription server lists models (whisper.cpp-style servers load exactly one).
        if (error instanceof UpstreamError && error.upstreamStatus === 404) return [];
        throw error;
      }
    },
    health: (context) => probeHealth(request("GET", options.healthPath, context)),
  };
}

/** A self-hosted OpenAI-style transcription server (Speaches/faster-whisper-server, LocalAI, …); `GET /health` is its liveness route. */
export const whisperConnector = createTranscriptionConnector({ id: "whisper", displayName: "Whisper server", healthPath: "/health" });
