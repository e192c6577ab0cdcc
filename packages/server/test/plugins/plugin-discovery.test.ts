// Plugin discovery (issue 18): the shipped plugins, `<dataDir>/plugins` and configured paths, in that order of
// precedence; broken plugins listed with their problems (file and field), never thrown; trust decided per folder;
// the node API range checked with semver.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { klp, PLUGIN_API_VERSION } from "@kai/protocol";
import { PluginCatalog } from "../../src/plugins/plugin-catalog.js";
import { checkCompatibility } from "../../src/plugins/plugin-compatibility.js";
import { signPluginFolder } from "../../src/plugins/plugin-signature.js";
import { makePlugin, seedManifest } from "./plugin-fixtures.js";

const base = mkdtempSync(join(tmpdir(), "kai-plugin-discovery-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const publisher = klp.generateKeyPair();

describe("node API compatibility", () => {
  it("checks the plugin's range against the node's plugin API version", () => {
    expect(checkCompatibility({ node_api: "^1.0.0" }, "1.4.0").compatible).toBe(true);
    expect(checkCompatibility({ node_api: "^2" }, "3.0.0")).toMatchObject({ compatible: false, reason: "needs node plugin API ^2; this node offers 3.0.0" });
    expect(checkCompatibility({ node_api: ">=1 <3" }, "2.0.0-beta.1").compatible).toBe(true);
    expect(checkCompatibility({}, "9.0.0")).toMatchObject({ compatible: true, reason: expect.stringMatching(/no node_api/) });
    expect(checkCompatibility({ node_api: "^1" }).apiVersion).toBe(PLUGIN_API_VERSION);
  });
});

describe("discovery", () => {
  it("lists every plugin folder with its state, trust and problems, and never throws for a broken one", async () => {
    const dataDir = join(base, "node");
    const system = join(base, "shipped");
    const extra = join(base, "extra");
    const plugins = join(dataDir, "plugins");
    makePlugin(system, "core-clock", seedManifest({ id: "core-clock", name: "Clock", trust_level: "system" }));
    const signed = makePlugin(plugins, "musicgen", seedManifest());
    await signPluginFolder(signed, { id: "plugin-musicgen", version: "0.2.1" }, publisher);
    makePlugin(plugins, "broken", seedManifest({ id: "broken", permissions: ["llm_access", "format_disk"] }));
    makePlugin(plugins, "future", seedManifest({ id: "future", node_api: "^2" }));
    makePlugin(plugins, "bold", seedManifest({ id: "bold", trust_level: "system" }));
    makePlugin(plugins, "not-yaml", "id: [\n");
    mkdirSync(join(plugins, "empty-folder"));
    mkdirSync(join(plugins, ".git"));
    writeFileSync(join(plugins, "README.txt"), "not a plugin");
    // The same id again under a configured path: the data dir's copy wins, this one is listed as invalid.
    makePlugin(extra, "musicgen-copy", seedManifest());
    makePlugin(extra, "other", seedManifest({ id: "other", node_api: "~1.0.0" }));

    const catalog = new PluginCatalog({ enabled: true, dataDir, paths: [extra, join(base, "missing")], systemDir: system, isTrustedKey: (did) => did === publisher.did });
    await catalog.scan();
    const listing = catalog.list();
    const byFolder = Object.fromEntries(listing.plugins.map((plugin) => [plugin.folder, plugin]));
    expect(Object.keys(byFolder).sort()).toEqual(["bold", "broken", "core-clock", "empty-folder", "future", "musicgen", "musicgen-copy", "not-yaml", "other"]);

    expect(byFolder["core-clock"]).toMatchObject({ id: "core-clock", source: "system", state: "discovered", trust: { level: "system" }, errors: [] });
    expect(byFolder.musicgen).toMatchObject({ id: "plugin-musicgen", source: "data", state: "discovered", trust: { level: "trusted", signer: publisher.did } });
    expect(byFolder.broken).toMatchObject({ id: "broken", state: "invalid", trust: { level: "unverified" } });
    expect(byFolder.broken?.errors).toEqual([{ file: join(plugins, "broken", "plugin.yaml"), field: "permissions.1", message: expect.stringMatching(/must be one of/) }]);
    expect(byFolder.future).toMatchObject({ state: "incompatible", errors: [{ field: "node_api", message: `needs node plugin API ^2; this node offers ${PLUGIN_API_VERSION}` }] });
    expect(byFolder.bold?.trust.level).toBe("unverified");
    expect(byFolder.bold?.trust.reason).toMatch(/asks for system, but the node decides/);
    expect(byFolder["not-yaml"]).toMatchObject({ id: "not-yaml", state: "invalid", errors: [{ message: expect.stringMatching(/not valid YAML/) }] });
    expect(byFolder["empty-folder"]).toMatchObject({ state: "invalid", errors: [{ message: expect.stringMatching(/ENOENT/) }] });
    expect(byFolder["musicgen-copy"]).toMatchObject({ id: "plugin-musicgen", source: "config", state: "invalid", errors: [{ field: "id", message: expect.stringMatching(/already has the id/) }] });
    expect(byFolder.other).toMatchObject({ source: "config", state: "discovered" });
    expect(listing.errors).toEqual([{ file: join(base, "missing"), message: "does not exist" }]);

    // The one in use answers for its id; details carry the manifest and the compatibility check.
    const detail = catalog.get("plugin-musicgen");
    expect(detail.path).toBe(signed);
    expect(detail.manifest?.capabilities[0]?.name).toBe("music_generation");
    expect(detail.compatibility).toMatchObject({ compatible: true, range: "^1.0.0" });
    expect(() => catalog.get("nope")).toThrow(/no plugin/);
  });

  it("sees a change on the next scan (a tampered file, a fixed manifest)", async () => {
    const dataDir = join(base, "rescan");
    const dir = makePlugin(join(dataDir, "plugins"), "p", seedManifest({ id: "p" }));
    await signPluginFolder(dir, { id: "p", version: "0.2.1" }, publisher);
    const catalog = new PluginCatalog({ enabled: true, dataDir, paths: [], isTrustedKey: (did) => did === publisher.did });
    await catalog.scan();
    expect(catalog.get("p").trust.level).toBe("trusted");
    writeFileSync(join(dir, "main.js"), "changed();\n");
    await Promise.all([catalog.scan(), catalog.scan()]);
    expect(catalog.get("p").trust).toMatchObject({ level: "unverified", file: "main.js" });
  });

  it("reads nothing when disabled, and a missing data dir folder is no problem", async () => {
    const dataDir = join(base, "fresh");
    const enabled = new PluginCatalog({ enabled: true, dataDir, paths: [], isTrustedKey: () => false });
    await enabled.scan();
    expect(enabled.list()).toMatchObject({ plugins: [], errors: [] });
    makePlugin(join(dataDir, "plugins"), "p", seedManifest({ id: "p" }));
    const disabled = new PluginCatalog({ enabled: false, dataDir, paths: [], isTrustedKey: () => false });
    await disabled.scan();
    expect(disabled.list().plugins).toEqual([]);
  });
});
