/**
 * @module gateway/connectors/stream-usage
 * Whether a streaming chat request asked for usage (`stream_options.include_usage`). OpenAI sends its closing
 * usage chunk (`choices: []`) only then, and clients that read `choices[0]` of every chunk break on one they did
 * not ask for; so every connector yields that chunk only when asked, while still recording the usage for the
 * router (the connector stream's `usage()`), whatever the caller asked.
 */
import type { ChatCompletionRequest } from "@kai/protocol";

export function wantsStreamUsage(request: ChatCompletionRequest): boolean {
  const options = (request as { stream_options?: unknown }).stream_options;
  return typeof options === "object" && options !== null && (options as { include_usage?: unknown }).include_usage === true;
}
