/**
 * @module gateway/connectors/whisper/wire
 * What an OpenAI-style transcription server answers. Private to the connector.
 */
import { ModelListSchema, TranscriptionResponseSchema } from "@kai/protocol";

/** `json` / `verbose_json` transcription body: exactly OpenAI's response shape. */
export const TranscriptionBodySchema = TranscriptionResponseSchema;

/** `GET /v1/models`, OpenAI's list shape. */
export const WhisperModelsSchema = ModelListSchema;
