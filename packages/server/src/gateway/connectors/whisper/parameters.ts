/**
 * @module gateway/connectors/whisper/parameters
 * What the transcription connector sends as multipart fields (index.ts `formOf`): every optional field of the shared
 * transcription request.
 */
import { TranscriptionRequestSchema } from "@kai/protocol";
import { honours, type ConnectorParameters } from "../parameters.js";

export const WHISPER_PARAMETERS: ConnectorParameters = {
  transcriptions: honours(TranscriptionRequestSchema, ["language", "prompt", "response_format", "temperature", "timestamp_granularities"]),
};
