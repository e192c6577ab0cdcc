/**
 * Exit codes follow from each API error code's HTTP status in the protocol's one error table, so a new code
 * (the sign-in ones of issue 14) gets the exit code of its status without a second list; docs/cli.md names
 * every code in the row of its exit code.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_STATUS, type ErrorCode } from "@kai/protocol";
import { EXIT, exitCodeForApiCode } from "../src/exit-codes.js";

const CLI_DOC = readFileSync(new URL("../../../docs/cli.md", import.meta.url), "utf8");

describe("exitCodeForApiCode", () => {
  it("gives the sign-in codes their exit codes", () => {
    const expected: Partial<Record<ErrorCode, number>> = {
      invalid_credentials: EXIT.unauthorized,
      mfa_required: EXIT.unauthorized,
      session_revoked: EXIT.unauthorized,
      password_change_required: EXIT.unauthorized,
      account_disabled: EXIT.unauthorized,
      csrf_failed: EXIT.unauthorized,
      sso_failed: EXIT.unauthorized,
      login_throttled: EXIT.rateLimited,
    };
    for (const [code, exit] of Object.entries(expected)) expect(exitCodeForApiCode(code), code).toBe(exit);
  });

  it("treats codes the table does not know as unexpected", () => {
    expect(exitCodeForApiCode("http_502")).toBe(EXIT.unexpected);
    expect(exitCodeForApiCode("internal")).toBe(EXIT.unexpected);
  });

  it("docs/cli.md lists every API code in the row of its exit code", () => {
    for (const code of Object.keys(ERROR_STATUS)) {
      const exit = exitCodeForApiCode(code);
      if (exit === EXIT.unexpected) continue;
      const row = CLI_DOC.split("\n").find((line) => line.startsWith(`| ${exit} |`));
      expect(row, `exit ${exit}`).toBeDefined();
      expect(row, `${code} in the row of exit ${exit}`).toContain(`\`${code}\``);
    }
  });
});
