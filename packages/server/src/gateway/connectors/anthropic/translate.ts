/**
 * @module gateway/connectors/anthropic/translate
 * Pure translation between the OpenAI chat shape and Anthropic's Messages API: system messages move to
 * `system`, `max_tokens` becomes mandatory, tools and tool calls/results become `tool_use`/`tool_result`
 * blocks, stop reasons and usage are renamed. Kept free of I/O so it is
 * tested on its own.
 */
import { ChatToolSchema, ToolCallSchema, parseJson, type ChatCompletion, type ChatCompletionRequest, type ChatMessage, type FinishReason, type ToolCall, type Usage } from "@kai/protocol";
import { z } from "zod";
import { ApiError } from "../../../errors.js";
import type { AnthropicMessage } from "./wire.js";

/** Anthropic requires max_tokens; OpenAI does not. This is what we send when the caller gave none. */
export const DEFAULT_MAX_TOKENS = 4096;

type AnthropicBlock =
  | { type: "text"; text: string }
  | { type: "image"; source: { type: "url"; url: string } | { type: "base64"; media_type: string; data: string } }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string };

function textOf(content: ChatMessage["content"]): string {
  if (typeof content === "string") return content;
  if (!content) return "";
  return content.map((part) => part.text ?? "").join("");
}

function blocksOf(content: ChatMessage["content"]): string | AnthropicBlock[] {
  if (typeof content === "string" || !content) return content ?? "";
  return content.map((part): AnthropicBlock => {
    if (part.type === "image_url") {
      const imageUrl = (part as { image_url?: { url?: string } }).image_url?.url ?? "";
      const dataUrl = /^data:([^;]+);base64,(.*)$/s.exec(imageUrl);
      if (dataUrl?.[1] && dataUrl[2] !== undefined) return { type: "image", source: { type: "base64", media_type: dataUrl[1], data: dataUrl[2] } };
      return { type: "image", source: { type: "url", url: imageUrl } };
    }
    return { type: "text", text: part.text ?? "" };
  });
}

function invalid(message: string): never {
  throw new ApiError("validation_failed", message);
}

/** Assistant tool calls → `tool_use` blocks; OpenAI sends arguments as a JSON string, Anthropic wants the object. */
function toolUseBlocks(raw: unknown): AnthropicBlock[] {
  const calls = z.array(ToolCallSchema).safeParse(raw);
  if (!calls.success) invalid("tool_calls must be a list of {id, type: 'function', function: {name, arguments}}");
  return calls.data.map((call) => {
    const input = parseJson(call.function.arguments || "{}");
    if (!input.ok) invalid(`tool call ${call.id}: arguments are not valid JSON`);
    return { type: "tool_use", id: call.id, name: call.function.name, input: input.value };
  });
}

/** OpenAI `tools` / `tool_choice` → Anthropic `tools` / `tool_choice`. */
function toolFields(request: ChatCompletionRequest): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (request.tools !== undefined) {
    const tools = z.array(ChatToolSchema).safeParse(request.tools);
    if (!tools.success) invalid("tools must be a list of {type: 'function', function: {name, parameters}}");
    out.tools = tools.data.map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description ? { description: tool.function.description } : {}),
      input_schema: tool.function.parameters ?? { type: "object", properties: {} },
    }));
  }
  const choice = request.tool_choice as unknown;
  if (choice === "auto") out.tool_choice = { type: "auto" };
  else if (choice === "required") out.tool_choice = { type: "any" };
  else if (choice === "none") out.tool_choice = { type: "none" };
  else if (choice && typeof choice === "object") {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    if (typeof name !== "string") invalid("tool_choice must be auto, required, none or {type: 'function', function: {name}}");
    out.tool_choice = { type: "tool", name };
  }
  return out;
}

/** OpenAI chat request → Anthropic Messages request body. */
export function toAnthropicRequest(request: ChatCompletionRequest, stream: boolean): Record<string, unknown> {
  const system: string[] = [];
  const messages: Array<{ role: "user" | "assistant"; content: string | AnthropicBlock[] }> = [];
  for (const message of request.messages) {
    if (message.role === "system" || message.role === "developer") {
      system.push(textOf(message.content));
    } else if (message.role === "tool") {
      // Anthropic wants tool results as blocks of the next user turn; consecutive results share one turn.
      const toolCallId = (message as { tool_call_id?: unknown }).tool_call_id;
      if (typeof toolCallId !== "string") invalid("a tool message needs tool_call_id");
      const block: AnthropicBlock = { type: "tool_result", tool_use_id: toolCallId, content: textOf(message.content) };
      const previous = messages.at(-1);
      if (previous?.role === "user" && Array.isArray(previous.content) && previous.content.every((b) => b.type === "tool_result")) previous.content.push(block);
      else messages.push({ role: "user", content: [block] });
    } else if (message.role === "assistant" && message.tool_calls !== undefined) {
      const text = textOf(message.content);
      messages.push({ role: "assistant", content: [...(text ? [{ type: "text" as const, text }] : []), ...toolUseBlocks(message.tool_calls)] });
    } else {
      messages.push({ role: message.role, content: blocksOf(message.content) });
    }
  }
  const stop = request.stop === null || request.stop === undefined ? undefined : Array.isArray(request.stop) ? request.stop : [request.stop];
  const body: Record<string, unknown> = {
    model: request.model,
    messages,
    max_tokens: request.max_tokens ?? request.max_completion_tokens ?? DEFAULT_MAX_TOKENS,
    stream,
    ...toolFields(request),
  };
  if (system.length > 0) body.system = system.join("\n\n");
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.top_p !== undefined) body.top_p = request.top_p;
  if (typeof request.top_k === "number") body.top_k = request.top_k;
  if (stop) body.stop_sequences = stop;
  if (request.user) body.metadata = { user_id: request.user };
  return body;
}

/** A `tool_use` block → an OpenAI tool call (arguments re-serialised as a JSON string). */
export function toToolCall(block: { id?: string; name?: string; input?: unknown }): ToolCall {
  return { id: block.id ?? "", type: "function", function: { name: block.name ?? "", arguments: JSON.stringify(block.input ?? {}) } };
}

/** Anthropic stop_reason → OpenAI finish_reason. */
export function finishReason(stopReason: string | null | undefined): FinishReason | null {
  switch (stopReason) {
    case undefined:
    case null:
      return null;
    case "max_tokens":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      return "stop"; // end_turn, stop_sequence, pause_turn
  }
}

/** Anthropic usage → OpenAI usage. */
export function toUsage(input: number, output: number): Usage {
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
}

/** Anthropic message → OpenAI chat completion. */
export function fromAnthropicMessage(message: AnthropicMessage, created = Math.floor(Date.now() / 1000)): ChatCompletion {
  const text = message.content.filter((block) => block.type === "text").map((block) => block.text ?? "").join("");
  const usage = message.usage ? toUsage(message.usage.input_tokens ?? 0, message.usage.output_tokens ?? 0) : undefined;
  const toolCalls = message.content.filter((block) => block.type === "tool_use").map(toToolCall);
  const reply = { role: "assistant" as const, content: text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) };
  return {
    id: message.id,
    object: "chat.completion",
    created,
    model: message.model,
    choices: [{ index: 0, message: reply, finish_reason: finishReason(message.stop_reason) }],
    ...(usage ? { usage } : {}),
  };
}
