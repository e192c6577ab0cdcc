// The plugin manifest (issue 18): the seed's plugin.yaml validated by the protocol's schema, the permission
// vocabulary, and problems that name the file and the field. Real files in a temporary folder.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { stringify } from "yaml";
import { pluginDependencies, PluginManifestSchema, PluginPermissionSchema, splitPluginPermission } from "@kai/protocol";
import { parsePluginManifest, readPluginManifest } from "../../src/plugins/plugin-manifest.js";
import { makePlugin, seedManifest } from "./plugin-fixtures.js";

const root = mkdtempSync(join(tmpdir(), "kai-plugin-manifest-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("plugin manifest schema", () => {
  it("accepts the seed's manifest and reads both dependency forms as one map", () => {
    const listed = PluginManifestSchema.parse(seedManifest());
    expect(listed.id).toBe("plugin-musicgen");
    expect(listed.ui).toEqual({ menu: true, icon: "music.svg" });
    expect(pluginDependencies(listed)).toEqual({ "@tensorflow/tfjs": "^4.0.0" });
    const mapped = PluginManifestSchema.parse(seedManifest({ dependencies: { "left-pad": "~1.3.0", "@scope/x": ">=2 <3" } }));
    expect(pluginDependencies(mapped)).toEqual({ "left-pad": "~1.3.0", "@scope/x": ">=2 <3" });
    const bare = PluginManifestSchema.parse({ id: "p", name: "P", entrypoint: "index.js", version: "1.0.0" });
    expect(bare.permissions).toEqual([]);
    expect(bare.capabilities).toEqual([]);
  });

  it("knows the permission vocabulary, with arguments where a permission needs one", () => {
    for (const good of ["llm_access", "registry_read", "audio_output", "memory_read", "events_subscribe", "vault_read:openai/key", "vault_read:services/*", "network:api.example.com", "network:*.example.com:443", "network:10.0.0.1:8080"]) {
      expect(PluginPermissionSchema.safeParse(good).success, good).toBe(true);
    }
    for (const bad of ["root", "llm_access:x", "vault_read:", "vault_read:../x", "vault_read:a/../b", "network:", "network:https://example.com", "network:EXAMPLE.com", "network:example.com/path", "network:a b", "", 7]) {
      const result = PluginPermissionSchema.safeParse(bad);
      expect(result.success, String(bad)).toBe(false);
      if (!result.success) expect(result.error.issues[0]?.message).toMatch(/must be one of llm_access/);
    }
    expect(splitPluginPermission("network:api.example.com:443")).toEqual({ kind: "network", argument: "api.example.com:443" });
    expect(splitPluginPermission("llm_access")).toEqual({ kind: "llm_access" });
  });

  it("refuses entrypoints and icons outside the folder, bad versions and ranges, duplicates", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ entrypoint: "../evil.js" }, "entrypoint"],
      [{ entrypoint: "/etc/passwd" }, "entrypoint"],
      [{ ui: { menu: true, icon: "../../x.svg" } }, "ui.icon"],
      [{ version: "1.0" }, "version"],
      [{ node_api: "not a range" }, "node_api"],
      [{ id: "Plugin With Spaces" }, "id"],
      [{ id: "a..b" }, "id"],
      [{ permissions: ["llm_access", "llm_access"] }, "permissions"],
      [{ capabilities: [{ name: "x" }, { name: "x" }] }, "capabilities"],
      [{ trust_level: "root" }, "trust_level"],
      [{ dependencies: { "Not A Package": "^1" } }, "dependencies"],
    ];
    for (const [override, field] of cases) {
      const result = PluginManifestSchema.safeParse(seedManifest(override));
      expect(result.success, JSON.stringify(override)).toBe(false);
      if (!result.success) expect(result.error.issues.some((issue) => issue.path.join(".").startsWith(field)), `${field}: ${JSON.stringify(result.error.issues)}`).toBe(true);
    }
  });
});

describe("reading plugin.yaml", () => {
  it("reads a valid file", async () => {
    const dir = makePlugin(root, "good", seedManifest());
    const read = await readPluginManifest(dir);
    expect(read.ok).toBe(true);
  });

  it("names the file and the field of every problem", async () => {
    const dir = makePlugin(root, "bad-fields", seedManifest({ version: "two", permissions: ["llm_access", "sudo"], colour: "red", ui: { menu: "yes" } }));
    const read = await readPluginManifest(dir);
    expect(read.ok).toBe(false);
    if (read.ok) return;
    const file = join(dir, "plugin.yaml");
    expect(read.problems.every((problem) => problem.file === file)).toBe(true);
    const fields = read.problems.map((problem) => problem.field);
    expect(fields).toEqual(expect.arrayContaining(["version", "permissions.1", "colour", "ui.menu"]));
    expect(read.problems.find((problem) => problem.field === "colour")?.message).toBe("is not a manifest field");
  });

  it("says what is wrong with YAML that does not parse, a missing file and a non-mapping", async () => {
    const broken = parsePluginManifest("id: a\nname: [unclosed\n", "x/plugin.yaml");
    expect(broken.ok).toBe(false);
    if (!broken.ok) expect(broken.problems[0]?.message).toMatch(/not valid YAML.*line/);
    const duplicate = parsePluginManifest("id: a\nid: b\n", "x/plugin.yaml");
    expect(duplicate.ok).toBe(false);
    const list = parsePluginManifest("- a\n- b\n", "x/plugin.yaml");
    expect(list.ok).toBe(false);
    if (!list.ok) expect(list.problems[0]?.message).toMatch(/mapping/);
    const missing = await readPluginManifest(join(root, "nowhere"));
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.problems[0]).toMatchObject({ file: join(root, "nowhere", "plugin.yaml"), message: expect.stringMatching(/ENOENT/) });
  });

  it("refuses alias bombs and oversized manifests without expanding them", async () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let level = 1; level < 12; level += 1) bomb.push(`${String.fromCharCode(97 + level)}: &${String.fromCharCode(97 + level)} [${Array(10).fill(`*${String.fromCharCode(96 + level)}`).join(", ")}]`);
    const started = Date.now();
    const result = parsePluginManifest(bomb.join("\n"), "bomb/plugin.yaml");
    expect(result.ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    const dir = makePlugin(root, "huge", "id: huge\n", {});
    writeFileSync(join(dir, "plugin.yaml"), `id: huge\nname: "${"x".repeat(300 * 1024)}"\n`);
    const huge = await readPluginManifest(dir);
    expect(huge.ok).toBe(false);
    if (!huge.ok) expect(huge.problems[0]?.message).toMatch(/larger than/);
  });
});

describe("hostile manifests (property-based)", () => {
  it("never throws, and every problem names the file, for arbitrary text and arbitrary YAML values", () => {
    const check = (text: string) => {
      const result = parsePluginManifest(text, "fuzz/plugin.yaml");
      if (!result.ok) {
        expect(result.problems.length).toBeGreaterThan(0);
        for (const problem of result.problems) expect(problem.file).toBe("fuzz/plugin.yaml");
      }
    };
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 400 }), check), { numRuns: 300 });
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => check(stringify(value))), { numRuns: 300 });
    // Near-valid manifests: the seed's with one field replaced by anything.
    const fields = Object.keys(seedManifest());
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue({ maxDepth: 3 }), (field, value) => {
        const text = stringify({ ...seedManifest(), [field]: value });
        check(text);
        const result = parsePluginManifest(text, "fuzz/plugin.yaml");
        if (!result.ok) expect(result.problems.some((problem) => problem.field?.startsWith(field) ?? false), JSON.stringify(result.problems)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
