/**
 * The template language's edges: what counts as a placeholder, declaration checks at save, typed values at render,
 * and the single pass that never expands a value.
 */
import { describe, expect, it } from "vitest";
import { PromptVariableSchema } from "@kai/protocol";
import { ApiError } from "../errors.js";
import { checkTemplate, fillTemplate, referencesOf, variableTexts } from "./prompt-template.js";

const variable = (input: Record<string, unknown>) => PromptVariableSchema.parse(input);
const problemsOf = (run: () => unknown): string[] => {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return (error.details ?? []).map((detail) => `${error.code} ${detail.path}`);
    throw error;
  }
  return [];
};

describe("prompt templates", () => {
  it("finds variables and vault references, and leaves other braces as text", () => {
    expect(referencesOf("{{ a }} {{b}} {{a}} {{vault:x/y}} { c } {{ not one }} {{1x}} {{{d}}}")).toEqual({ variables: ["a", "b", "d"], secrets: ["x/y"] });
    expect(referencesOf([{ role: "system", content: "{{s}}" }, { role: "user", content: "{{u}}" }]).variables).toEqual(["s", "u"]);
  });

  it("refuses undeclared variables, duplicates, ill-typed defaults and bad secret names at save", () => {
    expect(problemsOf(() => checkTemplate("{{a}} {{b}}", [variable({ name: "a" })]))).toEqual(["prompt_template_invalid template"]);
    expect(problemsOf(() => checkTemplate("{{a}}", [variable({ name: "a" }), variable({ name: "a" })]))).toEqual(["prompt_template_invalid variables.1.name"]);
    expect(problemsOf(() => checkTemplate("{{n}}", [variable({ name: "n", type: "number", default: "1" })]))).toEqual(["prompt_template_invalid variables.0.default"]);
    expect(problemsOf(() => checkTemplate("{{vault:../x}}", []))).toEqual(["prompt_template_invalid template"]);
    expect(problemsOf(() => checkTemplate("{{a}} unused ok", [variable({ name: "a" }), variable({ name: "unused" })]))).toEqual([]);
  });

  it("types values, fills defaults, and lists every problem at render", () => {
    const declared = [
      variable({ name: "s" }),
      variable({ name: "n", type: "number" }),
      variable({ name: "b", type: "boolean", default: true }),
      variable({ name: "j", type: "json", required: false }),
      variable({ name: "o", required: false }),
    ];
    expect(Object.fromEntries(variableTexts(declared, { s: "x", n: 2.5, j: null }))).toEqual({ s: "x", n: "2.5", b: "true", j: "null", o: "" });
    expect(problemsOf(() => variableTexts(declared, { n: Number.NaN, b: "yes", zz: 1 })).sort()).toEqual(
      ["prompt_variables_invalid variables.b", "prompt_variables_invalid variables.n", "prompt_variables_invalid variables.s", "prompt_variables_invalid variables.zz"],
    );
  });

  it("fills in one pass: a value that looks like a placeholder stays text", () => {
    const variables = new Map([["q", "{{vault:x/y}} {{q}}"]]);
    const secrets = new Map([["x/y", "SECRET"]]);
    expect(fillTemplate("Q: {{q}} / {{vault:x/y}}", variables, secrets)).toBe("Q: {{vault:x/y}} {{q}} / SECRET");
  });
});
