// The manifest's new words (issue 18, docs/plugins.md "Permissions", "Runtime"): `agent_invoke:` names one agent or
// every agent of a class and nothing else; a manifest's `limits` may narrow the CPU share and window its trust level
// gives, never widen them (real folders read by the catalog).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PluginManifestSchema, PluginPermissionSchema } from "@kai/protocol";
import { PluginCatalog } from "../../src/plugins/plugin-catalog.js";
import { LIMITS_BY_TRUST, processOptionsFor } from "../../src/plugins/runtime/isolation-policy.js";
import { agentAllowed } from "../../src/plugins/runtime/plugin-bus.js";
import { makePlugin, seedManifest } from "./plugin-fixtures.js";

const dataDir = mkdtempSync(join(tmpdir(), "kai-plugin-limits-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("agent_invoke", () => {
  it("names an agent id or a class's every agent, nothing wider", () => {
    for (const ok of ["agent_invoke:kExecutor:webscraper", "agent_invoke:kExecutor:*"]) expect(PluginPermissionSchema.safeParse(ok).success).toBe(true);
    for (const bad of ["agent_invoke:*", "agent_invoke:k*:*", "agent_invoke:webscraper", "agent_invoke:kExecutor:web*", "agent_invoke:"]) expect(PluginPermissionSchema.safeParse(bad).success, bad).toBe(false);
    expect(agentAllowed(["agent_invoke:kExecutor:*"], "kExecutor:webscraper")).toBe(true);
    expect(agentAllowed(["agent_invoke:kExecutor:webscraper"], "kExecutor:other")).toBe(false);
    expect(agentAllowed(["agent_invoke:kExecutor:*"], "kPlanner:main")).toBe(false);
    expect(agentAllowed(["invoke:kExecutor:webscraper"], "kExecutor:webscraper")).toBe(false);
  });
});

describe("a manifest's limits", () => {
  it("narrow the trust level's CPU share and window, never widen them", async () => {
    const plugins = join(dataDir, "plugins");
    makePlugin(plugins, "modest", seedManifest({ id: "modest", limits: { cpuPercent: 5, cpuWindowSeconds: 3 } }));
    makePlugin(plugins, "greedy", seedManifest({ id: "greedy", limits: { cpuPercent: 400, cpuWindowSeconds: 600 } }));
    const catalog = new PluginCatalog({ enabled: true, dataDir, paths: [], isTrustedKey: () => false });
    await catalog.scan();
    expect(processOptionsFor(catalog.get("modest"))).toMatchObject({ cpuPercent: 5, cpuWindowMs: 3_000 });
    expect(processOptionsFor(catalog.get("greedy"))).toMatchObject({ cpuPercent: LIMITS_BY_TRUST.unverified.cpuPercent, cpuWindowMs: LIMITS_BY_TRUST.unverified.cpuWindowMs });
    expect(PluginManifestSchema.safeParse(seedManifest({ limits: { cpuPercent: 0 } })).success).toBe(false);
    expect(PluginManifestSchema.safeParse(seedManifest({ limits: { memoryMb: 10 } })).success).toBe(false);
  });
});
