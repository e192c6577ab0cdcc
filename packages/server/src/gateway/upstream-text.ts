/**
 * @module gateway/upstream-text
 * Lets a connector mark a parsed answer (a chat completion, a stream chunk) with the provider's own JSON text when
 * that text already is the answer: the front doors then send those bytes instead of serialising the parsed value
 * again. The value is still parsed and validated (usage, finish reasons, errors all come from it); only the
 * serialisation is saved, which was a sizeable part of the gateway's work per streamed chunk.
 *
 * The text says the same as the value when validation changed nothing. For the OpenAI schemas that means: no
 * `usage` object that lacks `completion_tokens` (the one default they fill in), and no `__proto__` key (which
 * `parseJson` removes). Text with a line break is never marked, so a relayed text is always one SSE `data:` line.
 * Clients receive the provider's key order and spacing, i.e. the same JSON value.
 */

/**
 * Where the text is kept: a non-enumerable symbol property of the value itself (invisible to JSON.stringify, object
 * spreads and deep-equality checks). A WeakMap was measured at ~1 µs per streamed chunk in the server.
 */
const TEXT = Symbol("kai.upstreamText");
/** A line break (would split the SSE `data:` line) or a `__proto__` key (which parsing removes): serialise instead. */
const UNSAFE_TEXT = /[\r\n]|__proto__/;

/** Whether `input`'s `usage` (if any) is complete, so that validation added nothing to it. */
function usageComplete(input: unknown): boolean {
  const usage = (input as { usage?: unknown }).usage;
  return usage === undefined || usage === null || typeof usage !== "object" || "completion_tokens" in usage;
}

/**
 * Remembers `text` as the wire form of `value` (`input` is the JSON value `text` parsed to, before validation),
 * when sending the text is the same answer as serialising `value`.
 */
export function rememberUpstreamText(value: object, input: unknown, text: string): void {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return;
  if (UNSAFE_TEXT.test(text)) return;
  if (!usageComplete(input)) return;
  Object.defineProperty(value, TEXT, { value: text });
}

/** The provider's text for `value`, when a connector remembered it. */
export function upstreamTextOf(value: unknown): string | undefined {
  return value !== null && typeof value === "object" ? ((value as { [TEXT]?: string })[TEXT]) : undefined;
}
