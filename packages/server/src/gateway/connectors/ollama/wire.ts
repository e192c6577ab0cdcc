/**
 * @module gateway/connectors/ollama/wire
 * The parts of Ollama's native API this connector reads. Private to the connector.
 */
import { z } from "zod";

const Counts = {
  done: z.boolean(),
  done_reason: z.string().optional(),
  prompt_eval_count: z.number().int().nonnegative().optional(),
  eval_count: z.number().int().nonnegative().optional(),
};

/** `/api/chat` body, and each NDJSON line of its stream. */
export const OllamaChatSchema = z.looseObject({
  model: z.string(),
  created_at: z.string().optional(),
  message: z
    .looseObject({
      role: z.string(),
      content: z.string(),
      // Ollama sends tool arguments as an object, and (before 0.12) no call id.
      tool_calls: z.array(z.looseObject({ id: z.string().optional(), function: z.looseObject({ name: z.string(), arguments: z.unknown() }) })).optional(),
    })
    .optional(),
  ...Counts,
});
export type OllamaChat = z.infer<typeof OllamaChatSchema>;

/** `/api/generate` body. */
export const OllamaGenerateSchema = z.looseObject({ model: z.string(), response: z.string(), ...Counts });

/** `/api/embed` body. */
export const OllamaEmbedSchema = z.looseObject({
  model: z.string(),
  embeddings: z.array(z.array(z.number())),
  prompt_eval_count: z.number().int().nonnegative().optional(),
});

/** `/api/tags` body. */
export const OllamaTagsSchema = z.looseObject({ models: z.array(z.looseObject({ name: z.string(), model: z.string().optional() })) });
