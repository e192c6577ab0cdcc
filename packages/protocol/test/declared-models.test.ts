// The one reading of `metadata.models` that the gateway routes by and the web app lists.
import { describe, expect, it } from "vitest";
import { declaredModelNames } from "../src/index.js";

describe("declaredModelNames", () => {
  it("takes names and objects' id (else name), and ignores everything else", () => {
    expect(declaredModelNames({ models: ["m1", { id: "m2" }, { name: "m3" }, { id: "m4", name: "other" }, "", { id: "" }, 7, null, { id: 5, name: "m5" }, ["m6"]] })).toEqual(["m1", "m2", "m3", "m4"]);
  });

  it("is empty when there is no list", () => {
    expect(declaredModelNames({})).toEqual([]);
    expect(declaredModelNames({ models: "m1" })).toEqual([]);
    expect(declaredModelNames({ models: { id: "m1" } })).toEqual([]);
  });
});
