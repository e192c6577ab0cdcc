/**
 * @module gateway/connectors
 * The one place connectors are registered: id → connector. Adding a provider is one folder plus one
 * line here (see docs/contributing/add-provider.md); the router looks connectors up by the id a service
 * record names and never imports a connector directly.
 */
import type { Connector } from "../connector.js";
import { a1111Connector } from "./a1111/index.js";
import { anthropicConnector } from "./anthropic/index.js";
import { chromaConnector } from "./chroma/index.js";
import { comfyuiConnector } from "./comfyui/index.js";
import { n8nConnector } from "./n8n/index.js";
import { ollamaConnector } from "./ollama/index.js";
import {
  llamaCppConnector,
  lmStudioConnector,
  openWebUiConnector,
  openaiCompatibleConnector,
  openaiConnector,
  vllmConnector,
} from "./openai/index.js";
import { qdrantConnector } from "./qdrant/index.js";
import { whisperConnector } from "./whisper/index.js";

const CONNECTORS: readonly Connector[] = [
  openaiConnector,
  openaiCompatibleConnector,
  lmStudioConnector,
  vllmConnector,
  llamaCppConnector,
  openWebUiConnector,
  anthropicConnector,
  ollamaConnector,
  // Non-LLM capabilities: image_generation, vector_storage, workflow_orchestration, audio_transcription.
  a1111Connector,
  comfyuiConnector,
  qdrantConnector,
  chromaConnector,
  n8nConnector,
  whisperConnector,
];

/** Every registered connector by id. */
export const connectors: ReadonlyMap<string, Connector> = new Map(CONNECTORS.map((connector) => [connector.id, connector]));

/** The connector for `id`, or undefined when no such provider is registered. */
export function getConnector(id: string): Connector | undefined {
  return connectors.get(id);
}
