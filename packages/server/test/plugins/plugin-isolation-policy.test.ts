// From discovery to a running process (issue 18): the trust level decides the isolation. An unverified plugin that
// asks for the network gets none and the smallest limits; the same plugin signed by a trusted key gets the larger
// limits, and its network:<host> through the node only (no network of its own); an invalid or incompatible plugin is not run. Real folders, real keys, real processes (the host script
// is the built one: `npx tsc -b packages/server` first).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { klp } from "@kai/protocol";
import { PluginCatalog } from "../../src/plugins/plugin-catalog.js";
import { signPluginFolder } from "../../src/plugins/plugin-signature.js";
import { LIMITS_BY_TRUST, processOptionsFor } from "../../src/plugins/runtime/isolation-policy.js";
import { PluginProcess } from "../../src/plugins/runtime/plugin-process.js";
import { makePlugin, seedManifest } from "./plugin-fixtures.js";

const dataDir = mkdtempSync(join(tmpdir(), "kai-plugin-policy-"));
const started: PluginProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((plugin) => plugin.stop()));
  rmSync(dataDir, { recursive: true, force: true });
});

const SOURCE = "export default { music_generation: async ({ prompt }) => ({ tune: `la ${prompt}` }) };\n";

describe("isolation by trust level", () => {
  it("gives an unverified plugin the narrowest set, a trusted one what it asked for, and runs neither an invalid nor an incompatible one", async () => {
    const publisher = klp.generateKeyPair();
    const plugins = join(dataDir, "plugins");
    const manifest = { entrypoint: "main.mjs", permissions: ["llm_access", "network:api.example.com"] };
    makePlugin(plugins, "loose", seedManifest({ id: "loose", ...manifest }), { "main.mjs": SOURCE });
    const signed = makePlugin(plugins, "signed", seedManifest({ id: "signed", ...manifest }), { "main.mjs": SOURCE });
    await signPluginFolder(signed, { id: "signed", version: "0.2.1" }, publisher);
    makePlugin(plugins, "future", seedManifest({ id: "future", node_api: "^9" }), { "main.mjs": SOURCE });
    makePlugin(plugins, "broken", "id: broken\n", {});
    const catalog = new PluginCatalog({ enabled: true, dataDir, paths: [], isTrustedKey: (did) => did === publisher.did });
    await catalog.scan();

    const loose = processOptionsFor(catalog.get("loose"));
    expect(loose).toMatchObject({ network: false, ...LIMITS_BY_TRUST.unverified, entrypoint: "main.mjs", folder: join(plugins, "loose") });
    const trusted = processOptionsFor(catalog.get("signed"));
    // A trusted plugin's network:<host> goes through the node (kai.net.fetch, checked per host): no network of its own.
    expect(trusted).toMatchObject({ network: false, ...LIMITS_BY_TRUST.trusted });
    expect(() => processOptionsFor(catalog.get("future"))).toThrow(/cannot run: it is incompatible/);
    expect(() => processOptionsFor(catalog.get("broken"))).toThrow(/cannot run: it is invalid/);

    const running = await PluginProcess.start(loose);
    started.push(running);
    expect(running.capabilities).toEqual(["music_generation"]);
    expect(await running.invoke("music_generation", { prompt: "do re mi" })).toEqual({ tune: "la do re mi" });
  });
});
