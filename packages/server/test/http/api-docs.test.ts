// docs/api.md names every error code the API can answer with (the one table in @kai/protocol): a code added
// to the table without a word in the docs fails here, as the convention asks (AGENTS.md, "Errors").
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_STATUS } from "@kai/protocol";

const API_DOC = readFileSync(new URL("../../../../docs/api.md", import.meta.url), "utf8");

describe("docs/api.md", () => {
  it("documents every error code", () => {
    for (const code of Object.keys(ERROR_STATUS)) expect(API_DOC, code).toContain(`\`${code}\``);
  });

  it("no longer calls the gateway's codes reserved: its routes answer them", () => {
    expect(API_DOC).not.toMatch(/no route answers them yet/);
  });
});
