import { describe, expect, it } from "vitest";
import { DEFAULT_RETURN_PATH, safeLoopbackRedirect, safeReturnPath } from "./return-path.js";

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

describe("safeLoopbackRedirect", () => {
  it("accepts http loopback addresses with a port", () => {
    expect(safeLoopbackRedirect("http://127.0.0.1:53682/callback")).toBe("http://127.0.0.1:53682/callback");
    expect(safeLoopbackRedirect("http://[::1]:8000/")).toBe("http://[::1]:8000/");
    expect(safeLoopbackRedirect("http://localhost:8000/cb")).toBe("http://localhost:8000/cb");
  });

  it.each([
    undefined,
    "https://127.0.0.1:53682/",
    "http://127.0.0.1/",
    "http://evil.example:53682/",
    "http://127.0.0.1.evil.example:80/",
    "http://user:pw@127.0.0.1:53682/",
    "http://127.0.0.1:53682/#x",
    "/relative",
  ])("refuses %j", (value) => {
    expect(safeLoopbackRedirect(value)).toBeNull();
  });
});
