/**
 * The entry boundaries of a JSON manifest's `services` list (`manifest-check/services-array.ts`), which the parallel
 * check of `kai services apply` slices the file by: every entry exactly as `JSON.parse` sees it, whatever its strings
 * hold, and no answer at all for anything but the plain `{"services":[…]}` outline (the ordinary check takes those).
 */
import { describe, expect, it } from "vitest";
import { ServiceEntryScanner } from "../src/manifest-check/services-array.js";

/** Each run's entries as text, until the scanner answers null (the end) or undefined (not the outline). */
function runsOf(text: string, most: number): { runs: string[][]; end: null | undefined } {
  const bytes = Buffer.from(text);
  const scanner = new ServiceEntryScanner(bytes);
  const runs: string[][] = [];
  for (;;) {
    const run = scanner.take(most);
    if (!run) return { runs, end: run };
    runs.push(Array.from(run.starts, (start, index) => bytes.toString("utf8", start, run.ends[index])));
  }
}

/** The entries' texts as the scanner cuts them (runs larger than any list here), or undefined. */
function entriesOf(text: string): string[] | undefined {
  const { runs, end } = runsOf(text, 1000);
  return end === null ? runs.flat() : undefined;
}

describe("ServiceEntryScanner over a whole list", () => {
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

describe("ServiceEntryScanner a run at a time", () => {
  it("hands out the entries a run at a time, the same entries as a scan of the whole list", () => {
    const services = Array.from({ length: 7 }, (_, index) => ({ id: `e${index}`, note: index % 2 ? "a, ] } [ {" : { list: [index, [index]] } }));
    const text = JSON.stringify({ services }, null, 1);
    const { runs, end } = runsOf(text, 3);
    expect(end).toBeNull();
    expect(runs.map((run) => run.length)).toEqual([3, 3, 1]);
    expect(runs.flat()).toEqual(entriesOf(text));
    expect(runs.flat().map((entry) => JSON.parse(entry))).toEqual(services);
    // A list that ends exactly at a run's end: the next take says so.
    expect(runsOf(JSON.stringify({ services: services.slice(0, 6) }), 3)).toMatchObject({ end: null, runs: [expect.any(Array), expect.any(Array)] });
  });

  it("finds a bad end only at the end, after the runs before it were handed out", () => {
    const { runs, end } = runsOf('{"services":[{"id":"a"},{"id":"b"},{"id":"c"}]} trailing', 2);
    expect(runs).toEqual([['{"id":"a"}', '{"id":"b"}']]);
    expect(end).toBeUndefined();
  });

  it("answers undefined from the start for anything but the outline", () => {
    expect(runsOf('{"services":[]}', 5)).toEqual({ runs: [], end: undefined });
    expect(runsOf('[{"id":"a"}]', 5)).toEqual({ runs: [], end: undefined });
  });
});
