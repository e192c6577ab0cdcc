/**
 * @module gateway-audio
 * OpenAI's audio transcription request and response (`POST /v1/audio/transcriptions`), the neutral shape of
 * capability `audio_transcription`. The request carries the audio bytes themselves (the HTTP front door
 * reads them from the client's multipart upload); connectors send them on as multipart again.
 */
import { z } from "zod";

export const TranscriptionFormatSchema = z.enum(["json", "text", "srt", "verbose_json", "vtt"]);
export type TranscriptionFormat = z.infer<typeof TranscriptionFormatSchema>;

export const TranscriptionRequestSchema = z.looseObject({
  /** The audio file's bytes (a Node Buffer is a Uint8Array too). */
  file: z.instanceof(Uint8Array).refine((bytes) => bytes.byteLength > 0, "must not be empty"),
  /** File name sent upstream; servers use its extension to pick a decoder. */
  filename: z.string().min(1).max(255).default("audio.wav"),
  /** Media type of the audio, e.g. `audio/wav`. */
  mimeType: z.string().optional(),
  model: z.string().min(1),
  /** ISO-639-1 language of the audio; improves accuracy and latency. */
  language: z.string().optional(),
  /** Text to guide the model's style or continue a previous segment. */
  prompt: z.string().optional(),
  response_format: TranscriptionFormatSchema.optional(),
  temperature: z.number().min(0).max(1).optional(),
  timestamp_granularities: z.array(z.enum(["word", "segment"])).optional(),
});
export type TranscriptionRequest = z.input<typeof TranscriptionRequestSchema>;

/**
 * The transcription. `json` gives `{text}`, `verbose_json` adds language, duration, segments and words. For
 * the plain formats (`text`, `srt`, `vtt`) connectors put the provider's body in `text`, and a front door
 * answers it as `text/plain` again.
 */
export const TranscriptionResponseSchema = z.looseObject({
  text: z.string(),
  task: z.string().optional(),
  language: z.string().optional(),
  duration: z.number().optional(),
  segments: z.array(z.looseObject({ start: z.number().optional(), end: z.number().optional(), text: z.string().optional() })).optional(),
  words: z.array(z.looseObject({ word: z.string().optional(), start: z.number().optional(), end: z.number().optional() })).optional(),
  /** Token usage (`type: "tokens"`) or billed audio seconds (`type: "duration"`), as newer OpenAI models report it. */
  usage: z
    .looseObject({
      type: z.string().optional(),
      input_tokens: z.number().int().optional(),
      output_tokens: z.number().int().optional(),
      total_tokens: z.number().int().optional(),
      seconds: z.number().optional(),
    })
    .optional(),
});
export type TranscriptionResponse = z.infer<typeof TranscriptionResponseSchema>;
