/**
 * @module gateway/connectors/ollama/translate
 * Pure translation between the OpenAI shapes and Ollama's native API: sampling parameters move into
 * `options` (`max_tokens` → `num_predict`, Ollama's own `top_k` as it is), tool-call arguments switch between JSON string and object, and
 * Ollama's eval counts become usage.
 */
import { ToolCallSchema, parseJson, type ChatCompletionRequest, type ChatMessage, type FinishReason, type ToolCall, type Usage } from "@kai/protocol";
import { z } from "zod";
import { ApiError } from "../../../errors.js";
import type { OllamaChat } from "./wire.js";

function textOf(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  if (!content) return "";
  return content.map((part) => part.text ?? "").join("");
}

/**
 * Shared sampling options (Ollama nests them under `options`). `top_k` is not OpenAI's but Ollama's own; it is
 * declared in ollama/parameters.ts, and forwarded only as a number (the field is not in the shared schema).
 */
export function toOllamaOptions(request: { temperature?: number; top_p?: number; top_k?: unknown; max_tokens?: number; max_completion_tokens?: number; stop?: string | string[] | null; seed?: number | null }): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (request.temperature !== undefined) options.temperature = request.temperature;
  if (request.top_p !== undefined) options.top_p = request.top_p;
  if (typeof request.top_k === "number") options.top_k = request.top_k;
  const maxTokens = request.max_tokens ?? request.max_completion_tokens;
  if (maxTokens !== undefined) options.num_predict = maxTokens;
  if (request.stop !== undefined && request.stop !== null) options.stop = Array.isArray(request.stop) ? request.stop : [request.stop];
  if (request.seed !== undefined && request.seed !== null) options.seed = request.seed;
  return options;
}

/** One OpenAI message → Ollama's; assistant tool-call arguments go from JSON string to object. */
function toOllamaMessage(message: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: message.role === "developer" ? "system" : message.role, content: textOf(message.content) };
  if (message.tool_calls !== undefined) {
    const calls = z.array(ToolCallSchema).safeParse(message.tool_calls);
    if (!calls.success) throw new ApiError("validation_failed", "tool_calls must be a list of {id, type: 'function', function: {name, arguments}}");
    out.tool_calls = calls.data.map((call) => {
      const args = parseJson(call.function.arguments || "{}");
      if (!args.ok) throw new ApiError("validation_failed", `tool call ${call.id}: arguments are not valid JSON`);
      return { function: { name: call.function.name, arguments: args.value } };
    });
  }
  return out;
}

/** OpenAI chat request → Ollama `/api/chat` body (Ollama takes OpenAI's `tools` format as is). */
export function toOllamaChat(request: ChatCompletionRequest, stream: boolean): Record<string, unknown> {
  return {
    model: request.model,
    messages: request.messages.map(toOllamaMessage),
    stream,
    options: toOllamaOptions(request),
    ...(request.tools !== undefined ? { tools: request.tools } : {}),
  };
}

/** Ollama tool calls → OpenAI's, with arguments as a JSON string and an id (invented when Ollama gave none). */
export function toolCallsOf(message: OllamaChat["message"], idPrefix: string): ToolCall[] {
  return (message?.tool_calls ?? []).map((call, index) => ({
    id: call.id ?? `${idPrefix}_${index}`,
    type: "function",
    function: { name: call.function.name, arguments: typeof call.function.arguments === "string" ? call.function.arguments : JSON.stringify(call.function.arguments ?? {}) },
  }));
}

/** Ollama done_reason → OpenAI finish_reason. */
export function finishReason(doneReason: string | undefined): FinishReason {
  return doneReason === "length" ? "length" : "stop";
}

/** Ollama eval counts → usage, when the provider reported them. */
export function usageOf(body: { prompt_eval_count?: number; eval_count?: number }): Usage | undefined {
  if (body.prompt_eval_count === undefined && body.eval_count === undefined) return undefined;
  const prompt = body.prompt_eval_count ?? 0;
  const completion = body.eval_count ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Ollama timestamps are RFC 3339; OpenAI wants Unix seconds. */
export function createdOf(createdAt: string | undefined): number {
  const ms = createdAt ? Date.parse(createdAt) : Number.NaN;
  return Math.floor((Number.isNaN(ms) ? Date.now() : ms) / 1000);
}
