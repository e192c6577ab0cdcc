// The batch statement's text[] parameters are written by JSON.stringify (pg-array-parameters.ts) instead of by the
// pg driver. This pins, on a real PostgreSQL, that the literal means exactly the array the driver would have sent:
// every kind of string (quotes, backslashes, braces, commas, spaces, "NULL", empty, non-ASCII, JSON documents), NULL
// elements, the empty array, control characters (which JSON escapes: written back as themselves, as the search column's
// U+001F separators need), and the strings only the driver carries (a NUL, surrogates), which go to it unchanged.
import { afterAll, describe, expect, it } from "vitest";
import { startPostgres, testClient } from "../helpers/postgres-server.js";
import { numberArrayParameter, textArrayParameter } from "../../src/storage/postgres/pg-array-parameters.js";

const server = await startPostgres();
afterAll(async () => { await server?.stop(); });

const record = JSON.stringify({ id: "svc-1", name: 'say "hi"', description: "back\\slash, {braces}, [1,2]", metadata: { nested: { deep: [1, null, "x"] } } });

const arrays: Array<[string, Array<string | null>]> = [
  ["plain words", ["a", "b c", "d"]],
  ["quotes, backslashes, braces, commas", ['"', "\\", '\\"', "{a,b}", ",", "a\\\\b", '""']],
  ["strings that look like NULL or are empty", ["NULL", "null", "", " ", "Null "]],
  ["NULL elements, first, middle and last", [null, "x", null, "y", null]],
  ["only NULL", [null]],
  ["the empty array", []],
  ["non-ASCII text and a surrogate pair", ["é", "日本", "😀", "\u2028"]],
  ["JSON documents", [record, JSON.stringify({ q: '"'.repeat(50), b: "\\".repeat(50) }), "{}", "[]"]],
  ["control characters", ["line\nbreak", "tab\tx", "\u0001", "cr\r ff\f bs\b", "search\u001ffields\u001f"]],
  ["escaped backslashes beside control characters", ["\\u001f is text", "\\\u001f", "a\\\nb", "\\n", '\\"\u001f']],
  ["a separator in one element, a backslash before the text u001f in another", ["x\u001fy", "\\u001f plain", "z"]],
  ["a lone surrogate (left to the driver)", ["\ud800x"]],
];

describe.skipIf(!server)("textArrayParameter", () => {
  it("writes literals PostgreSQL reads as the same text[]", async () => {
    const client = testClient({ connectionString: await server!.createDatabase() });
    await client.connect();
    try {
      for (const [name, values] of arrays) {
        const parameter = textArrayParameter(values);
        const { rows } = await client.query<{ value: Array<string | null> }>("SELECT $1::text[] AS value", [parameter]);
        // The lone surrogate cannot reach PostgreSQL as itself in either encoding (UTF-8 has no such code point).
        const expected = name.startsWith("a lone surrogate") ? values.map((value) => value && Buffer.from(value).toString()) : values;
        expect(rows[0]?.value, name).toEqual(expected);
      }
    } finally {
      await client.end();
    }
  });

  it("writes number arrays PostgreSQL reads as the same bigint[] and integer[]", async () => {
    const client = testClient({ connectionString: await server!.createDatabase() });
    await client.connect();
    try {
      const values = [1, null, 1_733_412_345_678, 0, -5, Number.MAX_SAFE_INTEGER];
      const { rows } = await client.query<{ big: string[]; small: Array<number | null>; none: unknown[] }>(
        "SELECT $1::bigint[] AS big, $2::integer[] AS small, $3::bigint[] AS none",
        [numberArrayParameter(values), numberArrayParameter([30, null, 0]), numberArrayParameter([])],
      );
      // pg returns bigint elements as strings (they may exceed 2^53), integers as numbers.
      expect(rows[0]?.big).toEqual(values.map((value) => (value === null ? null : String(value))));
      expect(rows[0]?.small).toEqual([30, null, 0]);
      expect(rows[0]?.none).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it("writes control characters as themselves and hands arrays with a NUL or a surrogate to the driver as they are", () => {
    expect(textArrayParameter(["a", "b\nc", "x\u001fy", "\\u001f"])).toBe('{"a","b\nc","x\u001fy","\\\\u001f"}');
    const withNul = ["a", "b\u0000c"];
    expect(textArrayParameter(withNul)).toBe(withNul);
    const withPair = ["😀"];
    expect(textArrayParameter(withPair)).toBe(withPair);
    expect(textArrayParameter(['a"b', null, "c\\d"])).toBe('{"a\\"b",null,"c\\\\d"}');
    expect(textArrayParameter([])).toBe("{}");
  });
});
