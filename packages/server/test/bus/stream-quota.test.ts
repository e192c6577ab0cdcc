/** bus/stream-quota.ts: at most `limit` streams per token; a release frees one, once. */
import { describe, expect, it } from "vitest";
import { StreamQuota } from "../../src/bus/stream-quota.js";

describe("StreamQuota", () => {
  it("counts per token, refuses past the limit, and frees a stream once per release", () => {
    const quota = new StreamQuota(2);
    const a1 = quota.take("a")!;
    expect(quota.take("a")).not.toBeNull();
    expect(quota.take("a")).toBeNull();
    expect(quota.take("b")).not.toBeNull();
    a1();
    a1();
    expect(quota.take("a")).not.toBeNull();
    expect(quota.take("a")).toBeNull();
  });
});
