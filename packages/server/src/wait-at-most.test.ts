import { describe, expect, it } from "vitest";
import { waitAtMost } from "./wait-at-most.js";

describe("waitAtMost", () => {
  it("resolves with the work's value when it settles in time", async () => {
    expect(await waitAtMost(Promise.resolve(42), 1000)).toBe(42);
  });

  it("resolves undefined once the time is up, without waiting for work that never settles", async () => {
    expect(await waitAtMost(new Promise<number>(() => undefined), 20)).toBeUndefined();
  });

  it("passes on a rejection that comes in time", async () => {
    await expect(waitAtMost(Promise.reject(new Error("refused")), 1000)).rejects.toThrow("refused");
  });
});
