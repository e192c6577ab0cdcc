// parseJson: the one gate for untrusted JSON. Checks what callers rely on: bad text is a result, not a throw;
// `__proto__` keys never survive (at any depth, in arrays too); over-deep nesting is refused; where asked,
// ill-formed text (an unpaired UTF-16 surrogate, bytes that are not UTF-8) is refused with where it is.
import { describe, expect, it } from "vitest";
import { decodeUtf8, parseJson, parseJsonBytes } from "@kai/protocol";

describe("parseJson", () => {
  it("parses ordinary JSON unchanged", () => {
    const text = JSON.stringify({ a: 1, b: [1, { c: "x" }], d: null, e: { f: { g: true } } });
    expect(parseJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it("returns an error result for invalid text", () => {
    const result = parseJson('{"a":');
    expect(result.ok).toBe(false);
  });

  it("removes __proto__ keys at every depth, including inside arrays, and never changes a prototype", () => {
    const text = '{"__proto__":{"polluted":1},"a":{"__proto__":{"x":1},"keep":2},"list":[{"__proto__":{"y":1},"z":3}]}';
    const result = parseJson(text);
    expect(result.ok).toBe(true);
    const value = (result as { value: Record<string, unknown> }).value;
    expect(Object.hasOwn(value, "__proto__")).toBe(false);
    expect(Object.hasOwn(value.a as object, "__proto__")).toBe(false);
    expect(Object.hasOwn((value.list as object[])[0] as object, "__proto__")).toBe(false);
    expect(value).toEqual({ a: { keep: 2 }, list: [{ z: 3 }] });
    const merged: Record<string, unknown> = { ...value, ...(value.a as object) };
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("removes a __proto__ key spelled with escapes", () => {
    const result = parseJson('{"\\u005f\\u005fproto\\u005f\\u005f":{"p":1},"ok":1}');
    expect(result).toEqual({ ok: true, value: { ok: 1 } });
  });

  it("refuses nesting deeper than the limit and accepts nesting at it", () => {
    const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    expect(parseJson(nested(64)).ok).toBe(true);
    const deep = parseJson(nested(65));
    expect(deep.ok).toBe(false);
    expect(parseJson(`{"a":${nested(70)}}`, { maxDepth: 64 }).ok).toBe(false);
  });
});

describe("parseJson: well-formed text", () => {
  it("refuses an unpaired surrogate, escaped or raw, in a value or a member name, naming where", () => {
    expect(parseJson('{"name":"x\\ud800"}', { wellFormed: true })).toMatchObject({ ok: false, reason: "text", path: "name" });
    expect(parseJson('{"a":[1,{"b":"\\udc00"}]}', { wellFormed: true })).toMatchObject({ ok: false, reason: "text", path: "a.1.b" });
    expect(parseJson('"\\uD83D"', { wellFormed: true })).toMatchObject({ ok: false, reason: "text", path: "(root)" });
    expect(parseJson('{"m":{"k\\ud800":1}}', { wellFormed: true })).toMatchObject({ ok: false, reason: "text", path: "m (a member name)" });
    expect(parseJson(`{"raw":"x${"\ud800"}"}`, { wellFormed: true })).toMatchObject({ ok: false, reason: "text", path: "raw" });
  });

  it("accepts surrogate pairs, escaped or raw, and text that only looks like an escape", () => {
    for (const text of ['{"e":"\\ud83d\\ude00"}', '{"e":"😀"}', '{"e":"\\\\ud800"}', '{"e":"\\u00e9"}']) {
      expect(parseJson(text, { wellFormed: true }), text).toEqual({ ok: true, value: JSON.parse(text) });
    }
  });

  it("stays lenient unless asked (readers of stored data must not fail on one old record)", () => {
    expect(parseJson('{"name":"x\\ud800"}')).toEqual({ ok: true, value: { name: "x\ud800" } });
  });
});

describe("parseJsonBytes", () => {
  const bytes = (...values: number[]) => Uint8Array.from(values);
  it("refuses bytes that are not UTF-8 (never U+FFFD in their place)", () => {
    const quoted = (...inner: number[]) => bytes(0x22, ...inner, 0x22);
    for (const bad of [
      quoted(0xff), // never valid
      quoted(0xc0, 0xaf), // overlong "/"
      quoted(0xed, 0xa0, 0x80), // a surrogate encoded as UTF-8 (CESU-8)
      quoted(0xe2, 0x82), // truncated sequence
      quoted(0xf4, 0x90, 0x80, 0x80), // above U+10FFFF
    ]) {
      expect(decodeUtf8(bad)).toBeUndefined();
      expect(parseJsonBytes(bad)).toMatchObject({ ok: false, reason: "encoding" });
    }
  });

  it("decodes valid UTF-8 exactly, and applies the well-formed rule to escapes", () => {
    expect(parseJsonBytes(new TextEncoder().encode('{"t":"héllo € 😀 \ufffd"}'))).toEqual({ ok: true, value: { t: "héllo € 😀 \ufffd" } });
    expect(parseJsonBytes(new TextEncoder().encode('{"t":"\\ud800"}'))).toMatchObject({ ok: false, reason: "text", path: "t" });
  });

  it("keeps a byte-order mark, which is then not JSON (as the string parser always did)", () => {
    expect(parseJsonBytes(bytes(0xef, 0xbb, 0xbf, 0x7b, 0x7d))).toMatchObject({ ok: false, reason: "syntax" });
  });
});
