/**
 * docs/cli.md stays true to the code it describes: `kai token create --scope` lists every scope a token can
 * carry (it once named four of ten), and the exit-code table names every exit code of `kai --help`.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SCOPES } from "@kai/protocol";
import { EXIT } from "../src/exit-codes.js";

const CLI_DOC = readFileSync(new URL("../../../docs/cli.md", import.meta.url), "utf8");

describe("docs/cli.md", () => {
  it("lists every scope under `kai token create --scope`", () => {
    const start = CLI_DOC.indexOf("- `--scope`:");
    expect(start).toBeGreaterThan(-1);
    // The bullet runs until the next bullet.
    const bullet = CLI_DOC.slice(start, CLI_DOC.indexOf("\n- ", start + 1));
    for (const scope of SCOPES) expect(bullet, scope).toContain(`\`${scope}\``);
  });

  it("has a row for every exit code", () => {
    for (const code of Object.values(EXIT)) expect(CLI_DOC, `exit code ${code}`).toMatch(new RegExp(`^\\| ${code} \\|`, "m"));
  });
});
