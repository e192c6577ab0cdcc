/**
 * Where a syntax error is: the first character at which a text stops being JSON,
 * checked against what JSON.parse itself says wherever it names a position.
 */
import { describe, expect, it } from "vitest";
import { placeOf } from "@kai/protocol";
import { firstSyntaxError, jsonErrorOffset } from "./syntax-place.js";

/** JSON.parse's message for `text` (which must not parse). */
function parseMessage(text: string): string {
  try {
    JSON.parse(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${text} parses`);
}

describe("firstSyntaxError", () => {
  it("is undefined for JSON, whatever its nesting", () => {
    for (const text of ['{"a":[1,-2.5e+3,true,false,null,"x\\u00e9\\n"]}', " [ ] ", "0", '"s"', "[".repeat(100_000) + "]".repeat(100_000)]) {
      expect(firstSyntaxError(text), text.slice(0, 20)).toBeUndefined();
    }
  });

  it("finds the place JSON.parse names, where it names one", () => {
    const broken = [
      '{"a":1,}',
      '{"a" 1}',
      '{"a":"b',
      '{"a":1} x',
      '{"a":"\u0001"}',
      "[1,2",
      '{"services":[{"id":"x"}{"id":"y"}]}',
      "[01]",
      "[-]",
      "[1.]",
      "[1e]",
      '["\\x"]',
      '["\\u12G4"]',
      "{,}",
      '{"a":1 "b":2}',
    ];
    for (const text of broken) {
      const named = /at position (\d+)/.exec(parseMessage(text));
      expect(named, text).not.toBeNull();
      expect(firstSyntaxError(text), text).toBe(Number(named![1]));
    }
  });

  it("finds an unexpected character, which Node 20's JSON.parse names by a snippet only", () => {
    const text = `{"services":[\n${'{"id":"abc"},\n'.repeat(5)}{"id":tru}]}`;
    expect(parseMessage(text)).not.toMatch(/position/);
    const offset = jsonErrorOffset(text, parseMessage(text))!;
    expect(placeOf(text, offset)).toEqual({ line: 7, column: 10 });
    expect(jsonErrorOffset('{"a":}', parseMessage('{"a":}'))).toBe(5);
    expect(jsonErrorOffset("xyz", parseMessage("xyz"))).toBe(0);
  });

  it("places input cut short at its end", () => {
    expect(jsonErrorOffset('{"a":', parseMessage('{"a":'))).toBe(5);
    expect(firstSyntaxError('{"a":[1,')).toBe(8);
    expect(firstSyntaxError("")).toBe(0);
  });
});
