import { describe, expect, it } from "vitest";
import { DEFAULT_RETURN_PATH, safeReturnPath } from "./return-path.js";

describe("safeReturnPath", () => {
  it("keeps same-origin paths with their query and fragment", () => {
    expect(safeReturnPath("/services?tag=a#top")).toBe("/services?tag=a#top");
    expect(safeReturnPath("/")).toBe("/");
  });

  it("falls back to the default when nothing is given", () => {
    expect(safeReturnPath(undefined)).toBe(DEFAULT_RETURN_PATH);
    expect(safeReturnPath("")).toBe(DEFAULT_RETURN_PATH);
  });

  it.each([
    "https://evil.example/",
    "http:evil.example",
    "//evil.example/x",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "/%5cevil.example",
    "javascript:alert(1)",
    "evil.example",
    "/\tx",
    "/ //evil.example",
    "/x\n",
  ])("refuses %j", (value) => {
    expect(safeReturnPath(value)).toBeNull();
  });
});
