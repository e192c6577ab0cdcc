// The batch statement's text[] parameters are written by JSON.stringify (pg-service-text-array.ts) instead of by the
// pg driver. This pins, on a real PostgreSQL, that the literal means exactly the array the driver would have sent:
// every kind of string (quotes, backslashes, braces, commas, spaces, "NULL", empty, non-ASCII, JSON documents), NULL
// elements, the empty array, and the strings JSON would escape differently (control characters, surrogates), which
// go to the driver unchanged.
import { afterAll, describe, expect, it } from "vitest";
import { startPostgres, testClient } from "../helpers/postgres-server.js";
import { textArrayParameter } from "../../src/storage/postgres/pg-service-text-array.js";

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
  ["control characters (left to the driver)", ["line\nbreak", "tab\tx", "\u0001"]],
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

  it("hands arrays JSON would escape differently to the driver as they are", () => {
    const withNewline = ["a", "b\nc"];
    expect(textArrayParameter(withNewline)).toBe(withNewline);
    const withPair = ["😀"];
    expect(textArrayParameter(withPair)).toBe(withPair);
    expect(textArrayParameter(['a"b', null, "c\\d"])).toBe('{"a\\"b",null,"c\\\\d"}');
    expect(textArrayParameter([])).toBe("{}");
  });
});
