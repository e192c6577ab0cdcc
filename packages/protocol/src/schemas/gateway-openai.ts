/**
 * @module gateway-openai
 * The OpenAI-shaped request and response bodies the gateway speaks on every side: its own `/v1/*` front
 * doors, the SDK, and the normalised output of every provider connector. Objects are loose (unknown keys
 * pass through) because providers add fields and clients send newer parameters; we validate what we read
 * and forward the rest untouched rather than silently dropping it.
 */
import { z } from "zod";

/** Token counts as OpenAI reports them; connectors for other providers translate into this. */
export const UsageSchema = z.looseObject({
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative().optional().default(0),
  total_tokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof UsageSchema>;

/** Message content: a plain string or OpenAI's list of typed parts (text, image_url, …). */
export const ChatContentSchema = z.union([
  z.string(),
  z.array(z.looseObject({ type: z.string(), text: z.string().optional() })),
  z.null(),
]);

export const ChatMessageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: ChatContentSchema.optional(),
  name: z.string().optional(),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const ChatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(ChatMessageSchema).min(1),
  stream: z.boolean().optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  max_tokens: z.number().int().optional(),
  max_completion_tokens: z.number().int().optional(),
  stop: z.union([z.string(), z.array(z.string())]).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  user: z.string().optional(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

export const FinishReasonSchema = z.enum(["stop", "length", "tool_calls", "content_filter", "function_call", "error"]);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

export const ChatCompletionSchema = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.number().int(),
      message: z.looseObject({ role: z.literal("assistant"), content: z.string().nullable() }),
      finish_reason: FinishReasonSchema.nullable(),
    }),
  ),
  usage: UsageSchema.optional(),
});
export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;

export const ChatCompletionChunkSchema = z.looseObject({
  id: z.string(),
  object: z.literal("chat.completion.chunk"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(
    z.looseObject({
      index: z.number().int(),
      delta: z.looseObject({ role: z.literal("assistant").optional(), content: z.string().nullable().optional() }),
      finish_reason: FinishReasonSchema.nullable().optional(),
    }),
  ),
  usage: UsageSchema.nullable().optional(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;

export const CompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string())]),
  max_tokens: z.number().int().optional(),
  temperature: z.number().optional(),
  stream: z.boolean().optional(),
});
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

export const CompletionSchema = z.looseObject({
  id: z.string(),
  object: z.literal("text_completion"),
  created: z.number().int(),
  model: z.string(),
  choices: z.array(z.looseObject({ index: z.number().int(), text: z.string(), finish_reason: FinishReasonSchema.nullable() })),
  usage: UsageSchema.optional(),
});
export type Completion = z.infer<typeof CompletionSchema>;

export const EmbeddingRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))]),
  encoding_format: z.enum(["float", "base64"]).optional(),
  dimensions: z.number().int().positive().optional(),
});
export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;

export const EmbeddingResponseSchema = z.looseObject({
  object: z.literal("list"),
  data: z.array(z.looseObject({ object: z.literal("embedding"), index: z.number().int(), embedding: z.union([z.array(z.number()), z.string()]) })),
  model: z.string(),
  usage: z.looseObject({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }).optional(),
});
export type EmbeddingResponse = z.infer<typeof EmbeddingResponseSchema>;

export const ImageGenerationRequestSchema = z.looseObject({
  prompt: z.string().min(1),
  model: z.string().optional(),
  n: z.number().int().positive().optional(),
  size: z.string().optional(),
  response_format: z.enum(["url", "b64_json"]).optional(),
});
export type ImageGenerationRequest = z.infer<typeof ImageGenerationRequestSchema>;

export const ImageGenerationResponseSchema = z.looseObject({
  created: z.number().int(),
  data: z.array(z.looseObject({ url: z.string().optional(), b64_json: z.string().optional(), revised_prompt: z.string().optional() })),
});
export type ImageGenerationResponse = z.infer<typeof ImageGenerationResponseSchema>;

export const ModelEntrySchema = z.looseObject({
  id: z.string(),
  object: z.literal("model").optional(),
  created: z.number().int().optional(),
  owned_by: z.string().optional(),
});
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

export const ModelListSchema = z.looseObject({ object: z.literal("list").optional(), data: z.array(ModelEntrySchema) });
export type ModelList = z.infer<typeof ModelListSchema>;

/** A function tool offered to the model (`tools[]` of a chat request). */
export const ChatToolSchema = z.looseObject({
  type: z.literal("function"),
  function: z.looseObject({ name: z.string().min(1), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() }),
});
export type ChatTool = z.infer<typeof ChatToolSchema>;

/** A tool call the model made (`message.tool_calls[]`); `arguments` is a JSON string, as OpenAI sends it. */
export const ToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;
