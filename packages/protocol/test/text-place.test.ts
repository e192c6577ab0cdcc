/** Line and column of an offset, as the CLI's and the web app's syntax errors name them. */
import { describe, expect, it } from "vitest";
import { placeOf } from "../src/text-place.js";

describe("placeOf", () => {
  it("counts lines and columns from 1, a character beyond U+FFFF once", () => {
    expect(placeOf("abc", 0)).toEqual({ line: 1, column: 1 });
    expect(placeOf("abc", 2)).toEqual({ line: 1, column: 3 });
    expect(placeOf("a\nbc\n", 4)).toEqual({ line: 2, column: 3 });
    expect(placeOf("a\nbc\n", 5)).toEqual({ line: 3, column: 1 });
    expect(placeOf("\u{1F600}x", 2)).toEqual({ line: 1, column: 2 });
    expect(placeOf("ab", 99)).toEqual({ line: 1, column: 3 });
  });
});
