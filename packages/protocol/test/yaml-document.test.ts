/**
 * A YAML document as the CLI's `-f` and the web app's manifest import read it: YAML 1.2's core schema, one document,
 * problems with their offsets, and aliases that may share a block but not grow a document without end.
 */
import { describe, expect, it } from "vitest";
import { ALIAS_GROWTH_FLOOR, parseYamlDocument } from "../src/yaml-document.js";

const value = (text: string) => {
  const parsed = parseYamlDocument(text);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.value;
};
const problem = (text: string) => {
  const parsed = parseYamlDocument(text);
  if (parsed.ok) throw new Error(`${text} parsed`);
  return parsed;
};

describe("parseYamlDocument", () => {
  it("reads YAML 1.2's core schema: dates, yes and on stay strings; no merge key", () => {
    expect(value("a: 2024-01-01\nb: yes\nc: on\nd: 0o17\ne: ~\nf: 1.5\ng: '007'\nh: [x, {y: 1}]\n")).toEqual({
      a: "2024-01-01",
      b: "yes",
      c: "on",
      d: 15,
      e: null,
      f: 1.5,
      g: "007",
      h: ["x", { y: 1 }],
    });
    expect(value("base: &b {x: 1}\nentry:\n  <<: *b\n")).toEqual({ base: { x: 1 }, entry: { "<<": { x: 1 } } });
  });

  it("gives null for a document that holds nothing, and refuses more than one", () => {
    expect(value("")).toBeNull();
    expect(value("# only a comment\n")).toBeNull();
    expect(problem("--- 1\n--- 2\n")).toEqual({ ok: false, problem: "it holds 2 documents (separated by ---), one is expected", offset: undefined });
  });

  it("says what is wrong and where: a duplicate key, a bad indentation, an unknown alias or tag", () => {
    expect(problem("a: 1\na: 2\n")).toEqual({ ok: false, problem: "duplicated mapping key", offset: 5 });
    const indented = problem("services:\n  - id: a\n   name: b\n");
    expect(indented.problem).toMatch(/indentation/);
    expect(indented.offset).toBe(23);
    expect(problem("a: *nope\n")).toMatchObject({ problem: 'unidentified alias "nope"', offset: 4 });
    expect(problem("a: !!binary aGk=\n").problem).toMatch(/unknown .*tag/);
  });

  it("lets aliases share a block among many entries", () => {
    const entries = Array.from({ length: 2000 }, (_, index) => `  - id: s-${index}\n    healthCheck: *check\n`).join("");
    const document = value(`check: &check {path: /health, intervalSeconds: 30, timeoutSeconds: 5}\nservices:\n${entries}`) as { services: Array<{ healthCheck: unknown }> };
    expect(document.services).toHaveLength(2000);
    expect(document.services[1999]!.healthCheck).toEqual({ path: "/health", intervalSeconds: 30, timeoutSeconds: 5 });
  });

  it("refuses aliases that would grow a few lines into billions of nodes, at once", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let level = 1; level < 9; level++) {
      const previous = String.fromCharCode(96 + level);
      levels.push(`${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(10).fill(`*${previous}`).join(", ")}]`);
    }
    const bomb = problem(`${levels.join("\n")}\n`);
    expect(bomb.problem).toMatch(/^its aliases expand its \d+ nodes to [\d,]+ \(at most [\d,]+ here\): refused, as a YAML bomb would be$/);
    // 20 distinct nodes (the root, nine lists, ten x's); expanded, the lists hold 11, 111, … 1,111,111,111 nodes, with
    // the root 1,234,567,900. Measured without expanding: a walk of a billion nodes would not end within the test's time.
    expect(bomb.problem).toContain(`its 20 nodes to 1,234,567,900 (at most ${(ALIAS_GROWTH_FLOOR + 20).toLocaleString("en-US")} here)`);
  });

  it("refuses an alias inside its own anchor: the document would never end", () => {
    expect(problem("a: &a [1, *a]\n").problem).toBe("an alias refers to a node that contains it: the document would never end");
    expect(problem("a: &a {b: {c: *a}}\n").problem).toBe("an alias refers to a node that contains it: the document would never end");
  });
});
