/**
 * @module gateway/connectors/anthropic/wire
 * The parts of Anthropic's Messages API wire format this connector reads (responses and stream events).
 * Private to the connector: nothing outside speaks Anthropic, so these shapes are not in @kai/protocol.
 */
import { z } from "zod";

export const AnthropicUsageSchema = z.looseObject({
  input_tokens: z.number().int().nonnegative().optional(),
  output_tokens: z.number().int().nonnegative().optional(),
});

/** A content block: `text`, or `tool_use` (id, name, input), or a type we pass over. */
export const AnthropicContentBlockSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  id: z.string().optional(),
  name: z.string().optional(),
  input: z.unknown().optional(),
});

export const AnthropicMessageSchema = z.looseObject({
  id: z.string(),
  type: z.literal("message"),
  role: z.literal("assistant"),
  model: z.string(),
  content: z.array(AnthropicContentBlockSchema),
  stop_reason: z.string().nullable().optional(),
  usage: AnthropicUsageSchema.optional(),
});
export type AnthropicMessage = z.infer<typeof AnthropicMessageSchema>;

/** One `data:` payload of the stream; `type` repeats the SSE `event:` name. */
export const AnthropicStreamEventSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("message_start"), message: z.looseObject({ id: z.string(), model: z.string(), usage: AnthropicUsageSchema.optional() }) }),
  z.looseObject({ type: z.literal("content_block_start"), index: z.number().int(), content_block: AnthropicContentBlockSchema }),
  z.looseObject({ type: z.literal("content_block_delta"), index: z.number().int(), delta: z.looseObject({ type: z.string(), text: z.string().optional(), partial_json: z.string().optional() }) }),
  z.looseObject({ type: z.literal("content_block_stop"), index: z.number().int() }),
  z.looseObject({ type: z.literal("message_delta"), delta: z.looseObject({ stop_reason: z.string().nullable().optional() }), usage: AnthropicUsageSchema.optional() }),
  z.looseObject({ type: z.literal("message_stop") }),
  z.looseObject({ type: z.literal("ping") }),
  z.looseObject({ type: z.literal("error"), error: z.looseObject({ type: z.string(), message: z.string() }) }),
]);
export type AnthropicStreamEvent = z.infer<typeof AnthropicStreamEventSchema>;

export const AnthropicModelListSchema = z.looseObject({
  data: z.array(z.looseObject({ id: z.string(), display_name: z.string().optional() })),
});
