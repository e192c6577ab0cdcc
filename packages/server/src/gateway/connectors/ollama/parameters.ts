/**
 * @module gateway/connectors/ollama/parameters
 * What the Ollama connector honours (translate.ts): sampling parameters go into Ollama's `options`
 * (`max_tokens`/`max_completion_tokens` → `num_predict`, `stop`, `seed`, Ollama's own `top_k`); `user` has no
 * place in Ollama's API and is dropped. `/api/generate` takes the same options. Embeddings: Ollama takes only the
 * model and input; `encoding_format` is applied by the connector (base64 encoded here), `dimensions` is not sent.
 */
import { ChatCompletionRequestSchema, CompletionRequestSchema, EmbeddingRequestSchema } from "@kai/protocol";
import { EXTRAS, honours, type ConnectorParameters } from "../parameters.js";

const chat = honours(ChatCompletionRequestSchema, ["temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed"], { top_k: EXTRAS.top_k });
const shared = ChatCompletionRequestSchema.shape;

export const OLLAMA_PARAMETERS: ConnectorParameters = {
  chat,
  chat_stream: chat,
  completions: honours(CompletionRequestSchema, ["max_tokens", "temperature"], { top_p: shared.top_p, stop: shared.stop, seed: shared.seed, top_k: EXTRAS.top_k }),
  embeddings: honours(EmbeddingRequestSchema, ["encoding_format"]),
};
