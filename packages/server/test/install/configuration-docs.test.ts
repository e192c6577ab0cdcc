/**
 * docs/configuration.md lists every key with its default in one YAML block: that block must be a valid
 * configuration (so the page cannot name a key the server does not have, or a value it would refuse), and every
 * top-level section of the schema must appear in it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { ConfigSchema } from "../../src/config/config-schema.js";

const page = readFileSync(fileURLToPath(new URL("../../../../docs/configuration.md", import.meta.url)), "utf8");
// The block after "every key with its default:" (the page has smaller examples before it, an agent's file say).
const block = /every key with its default:\s*```yaml\n([\s\S]*?)```/.exec(page)?.[1] ?? "";

describe("docs/configuration.md", () => {
  it("shows a configuration the server accepts", () => {
    const parsed = ConfigSchema.safeParse(parse(block));
    expect(parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`)).toEqual([]);
  });

  it("covers every section of the schema", () => {
    const shown = Object.keys(parse(block) as Record<string, unknown>);
    expect(shown.sort()).toEqual(Object.keys(ConfigSchema.shape).sort());
  });
});
