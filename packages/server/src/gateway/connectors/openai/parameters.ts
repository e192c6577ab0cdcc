/**
 * @module gateway/connectors/openai/parameters
 * What the OpenAI-compatible connectors honour. They forward the request as it is (unknown fields included), so
 * every field of the shared schemas reaches the server; declared are those of the shared schemas plus the extras
 * each flavour's server documents. `top_k` is not OpenAI's: vLLM, llama.cpp and LM Studio read it.
 */
import { ChatCompletionRequestSchema, CompletionRequestSchema, EmbeddingRequestSchema, ImageGenerationRequestSchema } from "@kai/protocol";
import { EXTRAS, honours, type ConnectorParameters, type ParameterExtras } from "../parameters.js";

const SAMPLING = ["temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "user"] as const;
const chat = ChatCompletionRequestSchema.shape;

function declare(withTopK: boolean): ConnectorParameters {
  const topK: ParameterExtras = withTopK ? { top_k: EXTRAS.top_k } : {};
  const chatParameters = honours(ChatCompletionRequestSchema, SAMPLING, { frequency_penalty: EXTRAS.frequency_penalty, presence_penalty: EXTRAS.presence_penalty, ...topK });
  return {
    chat: chatParameters,
    chat_stream: chatParameters,
    completions: honours(CompletionRequestSchema, ["max_tokens", "temperature"], { top_p: chat.top_p, stop: chat.stop, seed: chat.seed, ...topK }),
    embeddings: honours(EmbeddingRequestSchema, ["encoding_format", "dimensions"]),
    images: honours(ImageGenerationRequestSchema, ["n", "size", "response_format"]),
  };
}

/** OpenAI itself, Open WebUI and generic OpenAI-compatible servers. */
export const OPENAI_PARAMETERS = declare(false);
/** vLLM, llama.cpp server and LM Studio: OpenAI's parameters and `top_k`. */
export const OPENAI_WITH_TOP_K_PARAMETERS = declare(true);
