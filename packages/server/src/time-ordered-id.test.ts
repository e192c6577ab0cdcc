// Ids drawn from the pooled randomness: the documented shape, no id twice across many pool refills, and ids made
// later sort after ids made earlier (listings newest first rely on it).
import { describe, expect, it } from "vitest";
import { randomHex, timeOrderedId } from "./time-ordered-id.js";

describe("timeOrderedId", () => {
  it("is <prefix>_<10 base-36 time characters><16 hex characters>, and no id repeats across pool refills", () => {
    // 512 ids empty one 4096-byte pool: 20,000 ids use ~40 pools.
    const ids = Array.from({ length: 20_000 }, () => timeOrderedId("task"));
    for (const id of ids.slice(0, 50)) expect(id).toMatch(/^task_[0-9a-z]{10}[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Nor do the random parts repeat (each of the pool's bytes is used once).
    expect(new Set(ids.map((id) => id.slice(-16))).size).toBe(ids.length);
  });

  it("sorts by creation time", async () => {
    const first = timeOrderedId("mem");
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = timeOrderedId("mem");
    expect(first.slice(4, 14) < second.slice(4, 14)).toBe(true);
    expect([second, first].sort()).toEqual([first, second]);
  });
});

describe("randomHex", () => {
  it("gives 2 × n hex characters, also for more bytes than one pool holds", () => {
    expect(randomHex(4)).toMatch(/^[0-9a-f]{8}$/);
    const big = randomHex(5000);
    expect(big).toMatch(/^[0-9a-f]{10000}$/);
    // Not a constant fill: a 5000-byte CSPRNG draw has many distinct byte values.
    expect(new Set(big.match(/../g)).size).toBeGreaterThan(200);
  });
});
