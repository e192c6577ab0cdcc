/** The prompt diff: kept, removed and added lines in order, the common head and tail kept, and a huge middle bounded. */
import { describe, expect, it } from "vitest";
import { diffLines } from "./line-diff.js";

const render = (lines: ReturnType<typeof diffLines>) => lines.map((line) => `${line.op}${line.text}`);

describe("diffLines", () => {
  it("aligns by the longest common subsequence", () => {
    expect(render(diffLines(["a", "b", "c", "d"], ["a", "x", "c", "d", "e"]))).toEqual([" a", "-b", "+x", " c", " d", "+e"]);
    expect(render(diffLines([], ["a"]))).toEqual(["+a"]);
    expect(render(diffLines(["a"], []))).toEqual(["-a"]);
    expect(render(diffLines(["same"], ["same"]))).toEqual([" same"]);
    expect(render(diffLines(["x", "a", "y"], ["a", "x", "y"]))).toEqual(["-x", " a", "+x", " y"]);
  });

  it("shows a middle too large to align as removed then added, keeping head and tail", () => {
    const before = ["head", ...Array.from({ length: 3000 }, (_, index) => `old ${index}`), "tail"];
    const after = ["head", ...Array.from({ length: 3000 }, (_, index) => `new ${index}`), "tail"];
    const lines = diffLines(before, after);
    expect(lines).toHaveLength(6002);
    expect(lines[0]).toEqual({ op: " ", text: "head" });
    expect(lines[1]).toEqual({ op: "-", text: "old 0" });
    expect(lines[3001]).toEqual({ op: "+", text: "new 0" });
    expect(lines[6001]).toEqual({ op: " ", text: "tail" });
  });
});
