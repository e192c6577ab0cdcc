/**
 * The entry boundaries of a JSON manifest's `services` list (`manifest-check/services-array.ts`), which the parallel
 * check of `kai services apply` slices the file by: every entry exactly as `JSON.parse` sees it, whatever its strings
 * hold, and no answer at all for anything but the plain `{"services":[…]}` outline (the ordinary check takes those).
 */
import { describe, expect, it } from "vitest";
import { findServiceEntries } from "../src/manifest-check/services-array.js";

/** The entries' texts as the scanner cuts them, or undefined. */
function entriesOf(text: string): string[] | undefined {
  const bytes = Buffer.from(text);
  const found = findServiceEntries(bytes);
  if (!found) return undefined;
  return Array.from(found.starts, (start, index) => bytes.toString("utf8", start, found.ends[index]));
}

describe("findServiceEntries", () => {
  it("cuts each entry of the list, as JSON.parse reads them", () => {
    const services = [
      { id: "a", name: "plain" },
      { id: "b", name: 'quotes \\" and \\\\ and "], {"x": [' },
      { id: "c", metadata: { nested: [1, [2, { deep: "}" }]], empty: {} } },
      { id: "ü-ñ", description: "non-ASCII: 日本語, emoji 🚀, escapes \u0000 \n" },
    ];
    const text = JSON.stringify({ services });
    const entries = entriesOf(text);
    expect(entries?.map((entry) => JSON.parse(entry))).toEqual(services);
  });

  it("allows JSON whitespace between the tokens and around the entries", () => {
    const text = ' \n{\r\n\t"services" :\n [\n  {"id":"a"} ,\n\t{"id":"b"}\n ]\n}\n\n';
    expect(entriesOf(text)).toEqual(['{"id":"a"}', '{"id":"b"}']);
  });

  it("cuts entries that are not objects too (their check refuses them later)", () => {
    expect(entriesOf('{"services":[1, "two", [3], null, {"id":"x"}]}')).toEqual(["1", '"two"', "[3]", "null", '{"id":"x"}']);
  });

  it("leaves an empty entry empty, so that parsing the slice fails as parsing the file would", () => {
    expect(entriesOf('{"services":[{"id":"a"},]}')).toEqual(['{"id":"a"}', ""]);
    expect(entriesOf('{"services":[{"id":"a"},,{"id":"b"}]}')).toEqual(['{"id":"a"}', "", '{"id":"b"}']);
  });

  it.each([
    ["a top-level list", '[{"id":"a"}]'],
    ["another key first", '{"version":1,"services":[{"id":"a"}]}'],
    ["another key after", '{"services":[{"id":"a"}],"version":1}'],
    ["an escaped key", '{"\\u0073ervices":[{"id":"a"}]}'],
    ["a byte-order mark", '\ufeff{"services":[{"id":"a"}]}'],
    ["text after the document", '{"services":[{"id":"a"}]} x'],
    ["an empty list", '{"services":[]}'],
    ["a string left open", '{"services":[{"id":"a}]}'],
    ["an entry left open", '{"services":[{"id":"a"]}'],
    ["a list left open", '{"services":[{"id":"a"}'],
    ["YAML", "services:\n  - id: a\n"],
    ["nothing", ""],
  ])("answers undefined for %s", (_what, text) => {
    expect(entriesOf(text)).toBeUndefined();
  });
});
