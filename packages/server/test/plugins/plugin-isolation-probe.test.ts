// Isolation must not silently weaken (issue 18, docs/security.md "Plugins"): the real probe finds prlimit and
// unprivileged network namespaces on this machine (a machine without them skips with how to get them, and fails under
// CI=true); on a machine played without them (an injected probe), an unverified plugin is not started, `failed` with a
// reason naming what is missing and how to get it, unless plugins.allowWeakIsolation is on; a trusted plugin runs and
// its status names what it goes without. Real plugin processes (the built host: `npx tsc -b packages/server` first).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PluginDetail } from "@kai/protocol";
import type { SecurityEventInput } from "../../src/auth/security-log.js";
import { ApiError } from "../../src/errors.js";
import { PluginCatalog } from "../../src/plugins/plugin-catalog.js";
import { detectIsolation, detectIsolationSync, missingProtections, probeIsolation, type IsolationTools } from "../../src/plugins/runtime/isolation-probe.js";
import { PluginBus } from "../../src/plugins/runtime/plugin-bus.js";
import { PluginSupervisor, type SupervisorStatus } from "../../src/plugins/runtime/plugin-supervisor.js";
import { missingPart } from "../helpers/real-parts.js";
import { makePlugin } from "./plugin-fixtures.js";

const NONE: IsolationTools = { prlimit: null, unshare: null, bwrap: null };
const unused = () => Promise.reject(new ApiError("unavailable", "not part of this test"));

let dataDir: string;
let plugin: PluginDetail;
const audit: SecurityEventInput[] = [];
// A real ServiceBus; these plugins never call it (they are refused before a session, or only loaded).
const bus = new PluginBus({ registry: { list: unused }, vault: { getSecret: unused }, gateway: { route: unused }, bus: () => undefined, audit: { recordLater: (event) => audit.push(event) } });
const supervisors: PluginSupervisor[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "kai-plugin-probe-"));
  makePlugin(join(dataDir, "plugins"), "plain", { id: "plain", name: "Plain", entrypoint: "main.mjs", version: "1.0.0", capabilities: [{ name: "ping" }] }, { "main.mjs": "export default { capabilities: { ping: () => 'pong' } };\n" });
  const catalog = new PluginCatalog({ enabled: true, dataDir, paths: [], isTrustedKey: () => false });
  await catalog.scan();
  plugin = catalog.get("plain");
});

afterAll(async () => {
  await Promise.all(supervisors.map((supervisor) => supervisor.stop("test over")));
  rmSync(dataDir, { recursive: true, force: true });
});

function supervise(detail: PluginDetail, options: { allowWeakIsolation?: boolean } = {}, tools: IsolationTools = NONE): { supervisor: PluginSupervisor; states: SupervisorStatus[] } {
  const states: SupervisorStatus[] = [];
  const supervisor = new PluginSupervisor(detail, { bus, probe: () => tools, ...options, onChange: (_plugin, status) => states.push(status) });
  supervisors.push(supervisor);
  return { supervisor, states };
}

describe("the isolation probe", () => {
  it("finds prlimit, unprivileged network namespaces and a working bubblewrap on this machine (what production uses)", () => {
    const tools = probeIsolation();
    if (!tools.prlimit) missingPart("prlimit", "apt-get install util-linux");
    if (!tools.unshare) missingPart("unprivileged network namespaces (unshare --user --net)", "apt-get install util-linux, and sysctl kernel.unprivileged_userns_clone=1");
    if (!tools.bwrap) missingPart("bubblewrap (bwrap) with unprivileged user namespaces", "apt-get install bubblewrap, and sysctl kernel.unprivileged_userns_clone=1");
    expect(missingProtections(tools, { network: false })).toEqual(tools.prlimit && tools.unshare && tools.bwrap ? [] : expect.any(Array));
  });

  it("answers the same with its trial runs awaited (what the runtime warms its cache with) as run synchronously", async () => {
    // Started before the synchronous run: the awaited trials leave the event loop free meanwhile.
    let ticks = 0;
    const ticking = setInterval(() => ticks++, 1);
    const awaited = await detectIsolation();
    clearInterval(ticking);
    expect(awaited).toEqual(detectIsolationSync());
    // The trials ran in child processes while timers kept firing (the synchronous probe stops them for 0.1-0.2 s).
    if (awaited.bwrap !== null || awaited.unshare !== null) expect(ticks).toBeGreaterThan(0);
  });

  it("names each missing protection and how to get it; a plugin given the network needs no namespace", () => {
    const missing = missingProtections(NONE, { network: false });
    expect(missing).toHaveLength(3);
    expect(missing[0]).toMatch(/prlimit is missing.*util-linux/);
    expect(missing[1]).toMatch(/bubblewrap \(bwrap\) is missing.*node's files.*apt-get install bubblewrap/);
    expect(missing[2]).toMatch(/user namespaces are not available.*network.*unprivileged_userns_clone/);
    expect(missingProtections({ prlimit: "/usr/bin/prlimit", unshare: null, bwrap: "/usr/bin/bwrap" }, { network: true })).toEqual([]);
    // bwrap makes the network namespace itself: unshare is not needed beside it.
    expect(missingProtections({ prlimit: "/usr/bin/prlimit", unshare: null, bwrap: "/usr/bin/bwrap" }, { network: false })).toEqual([]);
    expect(missingProtections({ prlimit: "/usr/bin/prlimit", unshare: "/usr/bin/unshare", bwrap: null }, { network: false })).toEqual([expect.stringMatching(/bubblewrap/)]);
  });
});

describe("an unverified plugin on a machine without the protections", () => {
  it("is not started: failed, the reason names what is missing and the switch", async () => {
    const { supervisor } = supervise(plugin);
    await expect(supervisor.start()).rejects.toMatchObject({ code: "plugin_unavailable" });
    expect(supervisor.status.state).toBe("failed");
    expect(supervisor.status.reason).toMatch(/not started without its isolation: prlimit is missing.*apt-get install bubblewrap.*user namespaces are not available.*plugins\.allowWeakIsolation: true/);
    expect(supervisor.status.isolation).toBeUndefined();
  });

  it("is not started without the file boundary alone (bubblewrap), the reason saying how to install it", async () => {
    const { supervisor } = supervise(plugin, {}, { prlimit: "/usr/bin/prlimit", unshare: "/usr/bin/unshare", bwrap: null });
    await expect(supervisor.start()).rejects.toMatchObject({ code: "plugin_unavailable" });
    expect(supervisor.status.state).toBe("failed");
    expect(supervisor.status.reason).toMatch(/not started without its isolation: bubblewrap \(bwrap\) is missing.*apt-get install bubblewrap/);
    expect(supervisor.status.reason).not.toMatch(/prlimit is missing/);
  });

  it("runs when the operator allowed weak isolation, its status naming what it goes without", async () => {
    const { supervisor } = supervise(plugin, { allowWeakIsolation: true });
    await supervisor.start();
    expect(supervisor.status).toMatchObject({ state: "running", isolation: { prlimit: false, networkNamespace: false, permissionModel: true, fileBoundary: false } });
    expect(supervisor.status.weakened).toHaveLength(3);
    expect(await supervisor.invoke("ping", {})).toBe("pong");
  });
});

describe("a trusted plugin on a machine without the protections", () => {
  it("runs without them, and says so", async () => {
    const { supervisor } = supervise({ ...plugin, trust: { ...plugin.trust, level: "trusted" } });
    await supervisor.start();
    expect(supervisor.status.state).toBe("running");
    expect(supervisor.status.weakened?.join(" ")).toMatch(/prlimit is missing/);
  });
});
