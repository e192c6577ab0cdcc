// Relaying the provider's text instead of re-serialising: whenever a text is found relayable for a parsed value, it
// must be the same JSON value as that value (property-based over chunk and completion shapes with and without usage,
// unknown keys, unusual spacing); texts that validation would change, or that would break SSE framing, are not kept.
import fc from "fast-check";
import { ChatCompletionChunkSchema, ChatCompletionSchema } from "@kai/protocol";
import { describe, expect, it } from "vitest";
import { parseUpstreamValue } from "./upstream-http.js";
import { relayableText } from "./upstream-text.js";

const usage = fc.record(
  { prompt_tokens: fc.nat(1000), completion_tokens: fc.nat(1000), total_tokens: fc.nat(2000) },
  { requiredKeys: ["prompt_tokens", "total_tokens"] },
);
const extras = fc.dictionary(fc.constantFrom("system_fingerprint", "service_tier", "x_extra", "obfuscation"), fc.jsonValue({ maxDepth: 2 }));
const chunk = fc.record({
  id: fc.string(),
  object: fc.constant("chat.completion.chunk"),
  created: fc.nat(),
  model: fc.string(),
  choices: fc.array(fc.record({ index: fc.nat(3), delta: fc.record({ content: fc.option(fc.string(), { nil: null }) }, { requiredKeys: [] }), finish_reason: fc.constantFrom(null, "stop", "length") }), { maxLength: 2 }),
  usage: fc.option(usage, { nil: null }),
});
const completion = fc.record({
  id: fc.string(),
  object: fc.constant("chat.completion"),
  created: fc.nat(),
  model: fc.string(),
  choices: fc.array(fc.record({ index: fc.nat(3), message: fc.record({ role: fc.constant("assistant"), content: fc.option(fc.string(), { nil: null }) }), finish_reason: fc.constantFrom(null, "stop") }), { maxLength: 2 }),
  usage: fc.option(usage, { nil: undefined }),
});
/** The same JSON written the way providers do: compact, spaced out, or with keys in another order. */
const spelled = (value: Record<string, unknown>) =>
  fc.constantFrom(
    JSON.stringify(value),
    JSON.stringify(value, null, 1).replace(/\n\s*/g, " "),
    JSON.stringify(Object.fromEntries(Object.entries(value).reverse())),
  );

describe("upstream text relay", () => {
  it("remembers a text only when it is the same JSON value as the validated chunk", () => {
    fc.assert(
      fc.property(fc.tuple(chunk, extras).chain(([body, more]) => spelled({ ...body, ...more })), (text) => {
        const { input, data } = parseUpstreamValue("test", text, ChatCompletionChunkSchema);
        const relayed = relayableText(input, text);
        if (relayed !== undefined) expect(JSON.parse(relayed)).toEqual(JSON.parse(JSON.stringify(data)));
      }),
      { numRuns: 300 },
    );
  });

  it("does the same for non-streaming completions", () => {
    fc.assert(
      fc.property(fc.tuple(completion, extras).chain(([body, more]) => spelled({ ...body, ...more })), (text) => {
        const { input, data } = parseUpstreamValue("test", text, ChatCompletionSchema);
        const relayed = relayableText(input, text);
        if (relayed !== undefined) expect(JSON.parse(relayed)).toEqual(JSON.parse(JSON.stringify(data)));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps the text of an ordinary chunk, and not of one validation completes, one with a line break or a __proto__ key", () => {
    const base = { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "hi" }, finish_reason: null }] };
    const remembered = (text: string) => {
      const { input } = parseUpstreamValue("test", text, ChatCompletionChunkSchema);
      return relayableText(input, text);
    };
    const plain = JSON.stringify(base);
    expect(remembered(plain)).toBe(plain);
    // completion_tokens is filled in by the schema: the relayed answer must carry it, so the text is not used.
    expect(remembered(JSON.stringify({ ...base, usage: { prompt_tokens: 1, total_tokens: 1 } }))).toBeUndefined();
    expect(remembered(JSON.stringify({ ...base, usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 } }))).toBeDefined();
    expect(remembered(JSON.stringify(base, null, 2))).toBeUndefined();
    expect(remembered(plain.replace('"model"', '"__proto__":{"x":1},"model"'))).toBeUndefined();
    expect(relayableText(undefined, "{}")).toBeUndefined();
  });
});
