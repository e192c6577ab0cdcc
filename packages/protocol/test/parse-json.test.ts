// parseJson: the one gate for untrusted JSON. Checks what callers rely on: bad text is a result, not a throw;
// `__proto__` keys never survive (at any depth, in arrays too); over-deep nesting is refused.
import { describe, expect, it } from "vitest";
import { parseJson } from "@kai/protocol";

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
    expect(parseJson(`{"a":${nested(70)}}`, 64).ok).toBe(false);
  });
});
