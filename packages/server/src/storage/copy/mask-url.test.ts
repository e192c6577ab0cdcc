import { describe, expect, it } from "vitest";
import { maskUrl, scrubPassword } from "./mask-url.js";

describe("maskUrl", () => {
  it("replaces the password, and only the password", () => {
    expect(maskUrl("postgres://kai:s3cr%40t@db.internal:5432/kai?sslmode=require")).toBe("postgres://kai:***@db.internal:5432/kai?sslmode=require");
    expect(maskUrl("postgres://kai@db/kai")).toBe("postgres://kai@db/kai");
  });

  it("masks a password given as a query parameter, and never echoes what is not a URL", () => {
    expect(maskUrl("postgresql://db/kai?user=kai&password=hunter2")).not.toContain("hunter2");
    expect(maskUrl("kai:hunter2@db")).toBe("<unparseable URL>");
  });
});

describe("scrubPassword", () => {
  it("removes the password as written and percent-decoded from any text", () => {
    const url = "postgres://kai:p%40ss%2Fword@db/kai";
    expect(scrubPassword("auth failed for p@ss/word and p%40ss%2Fword", url)).toBe("auth failed for *** and ***");
    expect(scrubPassword("nothing to hide", "postgres://kai@db/kai")).toBe("nothing to hide");
  });
});
