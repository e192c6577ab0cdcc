/**
 * @module jcs.test
 * Canonical JSON against the examples published in RFC 8785 (number serialisation table of Appendix B,
 * the property-sorting example of §3.2.3 and the full example of §3.2.2).
 */
import { describe, expect, it } from "vitest";
import { canonicalJson, canonicalisable } from "../../src/klp/index.js";
import { parseJson } from "../../src/parse-json.js";

const fromBits = (hex: string) => new DataView(Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16)).buffer).getFloat64(0);

// RFC 8785 Appendix B: IEEE 754 bit pattern → canonical text.
const NUMBERS: Array<[string, string]> = [
  ["0000000000000000", "0"],
  ["8000000000000000", "0"],
  ["0000000000000001", "5e-324"],
  ["8000000000000001", "-5e-324"],
  ["7fefffffffffffff", "1.7976931348623157e+308"],
  ["ffefffffffffffff", "-1.7976931348623157e+308"],
  ["4340000000000000", "9007199254740992"],
  ["c340000000000000", "-9007199254740992"],
  ["4430000000000000", "295147905179352830000"],
  ["44b52d02c7e14af5", "9.999999999999997e+22"],
  ["44b52d02c7e14af6", "1e+23"],
  ["44b52d02c7e14af7", "1.0000000000000001e+23"],
  ["444b1ae4d6e2ef4e", "999999999999999700000"],
  ["444b1ae4d6e2ef4f", "999999999999999900000"],
  ["444b1ae4d6e2ef50", "1e+21"],
  ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
  ["3eb0c6f7a0b5ed8d", "0.000001"],
  ["41b3de4355555553", "333333333.3333332"],
  ["41b3de4355555554", "333333333.33333325"],
  ["41b3de4355555555", "333333333.3333333"],
  ["41b3de4355555556", "333333333.3333334"],
  ["41b3de4355555557", "333333333.33333343"],
  ["becbf647612f3696", "-0.0000033333333333333333"],
  ["43143ff3c1cb0959", "1424953923781206.2"],
];

describe("JCS (RFC 8785)", () => {
  it.each(NUMBERS)("number %s → %s", (bits, text) => {
    expect(canonicalJson(fromBits(bits))).toBe(text);
  });

  it("refuses NaN and Infinity instead of signing an approximation", () => {
    expect(() => canonicalJson(Number.NaN)).toThrow();
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow();
    expect(() => canonicalJson(fromBits("7ff0000000000000"))).toThrow();
  });

  it("sorts properties by UTF-16 code units (§3.2.3)", () => {
    const input = String.raw`{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}`;
    const parsed = parseJson(input);
    expect(parsed.ok).toBe(true);
    const text = canonicalJson(parsed.ok ? parsed.value : null);
    // Read the values from the text: parsing back into an object would reorder the integer-like key "1".
    const values = Array.from(text.matchAll(/":"([^"]+)"/g), (match) => match[1]);
    expect(values).toEqual([
      "Carriage Return",
      "One",
      "Control",
      "Latin Small Letter O With Diaeresis",
      "Euro Sign",
      "Emoji: Grinning Face",
      "Hebrew Letter Dalet With Dagesh",
    ]);
    expect(text.indexOf("\ud83d\ude00")).toBeLessThan(text.indexOf("\ufb33"));
  });

  it("matches the §3.2.2 example byte for byte", () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    const parsed = parseJson(input);
    expect(parsed.ok).toBe(true);
    expect(canonicalJson(parsed.ok ? parsed.value : null)).toBe(expected);
  });

  it("sorts nested objects too (the drafts' Object.keys().sort() replacer silently dropped them)", () => {
    expect(canonicalJson({ b: { z: 1, a: [{ d: 2, c: 3 }] }, a: null })).toBe('{"a":null,"b":{"a":[{"c":3,"d":2}],"z":1}}');
  });
});

describe("canonicalisable", () => {
  it("agrees with canonicalJson: lone surrogates (values and names), NaN and Infinity cannot be canonicalised", () => {
    const cases: unknown[] = [
      { name: "ok", n: 1, list: ["😀", "\ud83d\ude00", null, true], nested: { "é": [0.1, -0] } },
      { name: "x\ud800" },
      { meta: { deep: ["fine", "\udc00y"] } },
      { ["k\udbff"]: 1 },
      { n: Number.NaN },
      [Number.POSITIVE_INFINITY],
      "\ud83d",
      "\ud83d\ude00",
    ];
    for (const value of cases) {
      let canonical = true;
      try {
        canonicalJson(value);
      } catch {
        canonical = false;
      }
      expect(canonicalisable(value), JSON.stringify(value)).toBe(canonical);
    }
    expect(canonicalisable({ name: "x\ud800" })).toBe(false);
  });
});
