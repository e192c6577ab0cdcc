/**
 * @module gateway/upstream/upstream-text
 * Decides whether a provider's own JSON text may be sent to the client as it is, in place of serialising the parsed
 * answer again (a chat completion, a stream chunk): the front doors then write those bytes. The value is still parsed
 * and validated (usage, finish reasons, errors all come from it); only the serialisation is saved, which was a sizeable
 * part of the gateway's work per streamed chunk.
 *
 * The text travels as an explicit field: `ConnectorResult.text` → `RouteResult.text` for a whole answer, and
 * `ConnectorStream.lastChunk.text` → `RoutedStream.lastChunk.text` for the chunk a stream yielded last.
 *
 * The text says the same as the value when validation changed nothing. For the OpenAI schemas that means: no
 * `usage` object that lacks `completion_tokens` (the one default they fill in), and no `__proto__` key (which
 * `parseJson` removes). Text with a line break is never relayed, so a relayed text is always one SSE `data:` line.
 * Clients receive the provider's key order and spacing, i.e. the same JSON value.
 */

/** A line break (would split the SSE `data:` line) or a `__proto__` key (which parsing removes): serialise instead. */
const UNSAFE_TEXT = /[\r\n]|__proto__/;

/** Whether `input`'s `usage` (if any) is complete, so that validation added nothing to it. */
function usageComplete(input: object): boolean {
  const usage = (input as { usage?: unknown }).usage;
  return usage === undefined || usage === null || typeof usage !== "object" || "completion_tokens" in usage;
}

/**
 * `text` when sending it is the same answer as serialising the validated value, else undefined. `input` is the JSON
 * value `text` parsed to, before validation (`parseUpstreamValue`, `callJson`).
 */
export function relayableText(input: unknown, text: string): string | undefined {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return undefined;
  if (UNSAFE_TEXT.test(text)) return undefined;
  return usageComplete(input) ? text : undefined;
}
