// MetadataSchema: service metadata is any JSON, at most 64 KiB of it, and never a raw credential. Checked by one walk,
// not by a recursive schema (so records holding it compile): this pins the rules that walk must keep — every kind of
// JSON value accepted at any depth, the first non-JSON value refused with its path, the size measured as JSON
// (escapes included), the first credential-named key holding a string refused with its path, and a cyclic object of
// an in-process caller ending in an error rather than a stack overflow.
import { describe, expect, it } from "vitest";
import { MetadataSchema } from "@kai/protocol";

const issuesOf = (value: unknown) => {
  const result = MetadataSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => ({ path: issue.path, message: issue.message }));
};

describe("MetadataSchema", () => {
  it("accepts every kind of JSON value at any depth, with the same value", () => {
    const metadata = { s: "x", n: -1.5e-300, t: true, f: false, z: null, a: [1, "2", [null, { b: [] }]], o: { p: { q: {} } }, "": "empty key" };
    expect(MetadataSchema.parse(metadata)).toStrictEqual(metadata);
    expect(MetadataSchema.parse(Object.assign(Object.create(null), { bare: 1 }))).toStrictEqual({ bare: 1 });
  });

  it("refuses the first value that is not JSON, naming where it is", () => {
    expect(issuesOf({ a: { b: [1, Number.NaN] } })).toEqual([{ path: ["a", "b", "1"], message: expect.stringContaining("must be JSON") }]);
    expect(issuesOf({ a: [Number.POSITIVE_INFINITY] })).toEqual([{ path: ["a", "0"], message: expect.stringContaining("must be JSON") }]);
    expect(issuesOf({ when: new Date(0) })).toEqual([{ path: ["when"], message: expect.stringContaining("must be JSON") }]);
    expect(issuesOf({ f: () => 1 })).toEqual([{ path: ["f"], message: expect.stringContaining("must be JSON") }]);
    expect(issuesOf({ u: undefined })).toEqual([{ path: ["u"], message: expect.stringContaining("must be JSON") }]);
    expect(issuesOf({ big: 1n })).toEqual([{ path: ["big"], message: expect.stringContaining("must be JSON") }]);
  });

  it("ends a cyclic or over-deep value with an error, not a stack overflow", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(issuesOf({ cyclic })[0]?.message).toMatch(/deeper than 64 levels/);
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = [deep];
    expect(issuesOf({ deep })[0]?.message).toMatch(/deeper than 64 levels/);
  });

  it("measures the size as JSON, escapes included: 64 KiB passes, one character more does not", () => {
    // {"q":"…"}: 8 characters around the string; each " is written as \" (2 characters).
    const limit = 64 * 1024;
    expect(issuesOf({ q: "x".repeat(limit - 8) })).toEqual([]);
    expect(issuesOf({ q: "x".repeat(limit - 7) })).toEqual([{ path: [], message: "must be at most 65536 bytes of JSON" }]);
    expect(issuesOf({ q: '"'.repeat((limit - 8) / 2) })).toEqual([]);
    expect(issuesOf({ q: '"'.repeat((limit - 8) / 2) + "x" })).toEqual([{ path: [], message: "must be at most 65536 bytes of JSON" }]);
  });

  it("refuses a raw credential (a credential-named key holding a string) at any depth, naming the first", () => {
    expect(issuesOf({ apiKey: "k" })).toEqual([{ path: ["apiKey"], message: expect.stringContaining("raw credentials are never stored") }]);
    expect(issuesOf({ a: [{ ok: 1 }, { PASSWORD: "p", token: "t" }] })).toEqual([
      { path: ["a", "1", "PASSWORD"], message: expect.stringContaining("raw credentials are never stored") },
    ]);
    // The name alone is no credential: a token's settings or a null password are metadata.
    expect(issuesOf({ token: { ttl: 60 }, password: null, secret: 1 })).toEqual([]);
  });

  it("reports the size before the credential when both are wrong", () => {
    expect(issuesOf({ big: "x".repeat(70 * 1024), token: "t" }).map((issue) => issue.path)).toEqual([[], ["token"]]);
  });
});
