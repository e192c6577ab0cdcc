// Plugins running in a real node (issue 18): real plugin processes started by the node (the built host script: run
// `npx tsc -b packages/server` first). A signed plugin, once enabled, is a registry record whose capability is
// routable through POST /api/route/{capability} (its input checked against the manifest's schema) and usable as an
// agent step; its ServiceBus calls reach the vault and the registry within its permissions, each one in the security
// log, allowed or refused. An unverified plugin is refused secrets whatever it declares, cannot read files or open
// sockets, and is stopped when it holds Buffers past its memory limit (RLIMIT_DATA), each stop in the security log
// (`plugin.stopped`), or holds a core past its CPU share (its manifest's narrower `limits`); a plugin that crashes at
// every start ends `failed`, one
// that floods the bus is stopped and restarted; a new version that fails its health check is rolled back while the old
// one keeps serving; the enabled set survives a restart of the node; disable removes the record.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, klp, PluginDetailSchema, PluginListResponseSchema, RouteResponseSchema, TaskSchema, TERMINAL_TASK_STATES, type PluginDetail, type Task } from "@kai/protocol";
import { eventually, startTestServer, type TestServer } from "../helpers/test-server.js";
import { signPluginFolder } from "../../src/plugins/plugin-signature.js";
import { probeIsolation } from "../../src/plugins/runtime/isolation-probe.js";
import { missingPart } from "../helpers/real-parts.js";
import { makePlugin } from "./plugin-fixtures.js";
import { packFolder } from "./plugin-package-fixtures.js";

// An unverified plugin runs only with its isolation (prlimit, an unprivileged network namespace and bubblewrap): without them the
// node refuses it, so those tests skip here with how to get them, and fail under CI=true.
const TOOLS = probeIsolation();
const ISOLATED = (TOOLS.prlimit !== null && TOOLS.unshare !== null && TOOLS.bwrap !== null)
  || !missingPart("prlimit, unprivileged network namespaces (unshare --user --net) and bubblewrap", "apt-get install util-linux bubblewrap, and sysctl kernel.unprivileged_userns_clone=1");

const publisher = klp.generateKeyPair();
const SECRET = "plugin-canary-7f3a9c";

const TEXT_TOOLS = `
export default { capabilities: {
  text_reverse: async (input) => ({ reversed: [...input.text].reverse().join("") }),
  peek_secret: async (input, kai) => (await kai.vault.read(input.name)).value.length,
  services: async (_input, kai) => (await kai.registry.list({ capability: "text_reverse" })).services.map((service) => service.id),
  fetch_url: async ({ url }, kai) => kai.net.fetch(url),
  fetch_forget: async ({ url }, kai) => { kai.net.fetch(url, { timeoutMs: 30000 }).catch(() => {}); return "fetching"; },
  exit: () => { setTimeout(() => process.exit(7), 10); return "exiting"; },
  relay: async ({ capability, input }, kai) => kai.call("capability.invoke", { capability, input }),
  remember: async ({ text }, kai) => kai.call("memory.add", { text }),
  health: async () => ({ ok: true }),
}};
`;

const NOSY = `
import { readFileSync } from "node:fs";
export default { capabilities: {
  steal: async (_input, kai) => kai.vault.read("plugins/text-key"),
  read_file: () => readFileSync("/etc/passwd", "utf8"),
  connect: (port) => new Promise((resolve, reject) => {
    import("node:net").then(({ connect }) => {
      const socket = connect(port, "127.0.0.1", () => { socket.end(); resolve("connected"); });
      socket.on("error", (error) => reject(new Error(error.code ?? "socket error")));
    });
  }),
  grow: () => { const keep = []; for (;;) keep.push(new Array(1e6).fill(keep.length)); },
  hoard: () => { const keep = []; for (let i = 0; i < 512; i++) keep.push(Buffer.alloc(1 << 20, i)); return keep.length; },
  flood: (_input, kai) => { for (let i = 0; i < 1000; i++) kai.events.broadcast("spam", { i }).catch(() => {}); return "sent"; },
  ping: () => "pong",
}};
`;

const capability = (name: string, input?: Record<string, unknown>) => ({ name, ...(input ? { input } : {}) });

let dataDir: string;
let server: TestServer;
// A web server on this machine that only the trusted plugin's network:127.0.0.1 may reach (through the node).
let web: Server;
let webPort: number;
/** Requests to the web server's /hang (never answered): when each arrived and when its connection closed. */
const hanging: Array<{ arrived: number; closed?: number }> = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "kai-plugin-runtime-"));
  const plugins = join(dataDir, "plugins");
  const textTools = makePlugin(plugins, "text-tools", {
    id: "text-tools", name: "Text tools", entrypoint: "main.mjs", version: "1.0.0", node_api: "^1.0.0",
    permissions: ["registry_read", "vault_read:plugins/*", "network:127.0.0.1", "invoke:ping"],
    capabilities: [
      capability("text_reverse", { type: "object", required: ["text"], properties: { text: { type: "string", maxLength: 1000 } } }),
      capability("peek_secret"), capability("services"), capability("fetch_url"), capability("relay"), capability("remember"),
      capability("fetch_forget"), capability("exit"),
    ],
  }, { "main.mjs": TEXT_TOOLS });
  await signPluginFolder(textTools, { id: "text-tools", version: "1.0.0" }, publisher);
  makePlugin(plugins, "nosy", {
    id: "nosy", name: "Nosy", entrypoint: "main.mjs", version: "0.1.0",
    // It asks for a secret; as an unverified plugin it never gets one.
    permissions: ["vault_read:plugins/*"],
    capabilities: [capability("steal"), capability("read_file"), capability("connect"), capability("grow"), capability("hoard"), capability("flood"), capability("ping")],
  }, { "main.mjs": NOSY });
  makePlugin(plugins, "needs-pad", {
    id: "needs-pad", name: "Needs a package", entrypoint: "main.mjs", version: "0.1.0", dependencies: { "left-pad": "^1.0.0" }, capabilities: [capability("pad")],
  }, { "main.mjs": "export default { capabilities: { pad: () => 'ok' } };\n", "node_modules/left-pad/package.json": JSON.stringify({ name: "left-pad", version: "0.9.0" }) });
  // It asks for a smaller CPU share than its trust level gives (a manifest may narrow its limits, never widen them).
  makePlugin(plugins, "spinner", {
    id: "spinner", name: "Spinner", entrypoint: "main.mjs", version: "0.1.0", limits: { cpuPercent: 10, cpuWindowSeconds: 2 }, capabilities: [capability("spin")],
  }, { "main.mjs": "export default { capabilities: { spin: () => { setTimeout(() => { for (;;) {} }, 10); return 'spinning'; } } };\n" });
  makePlugin(plugins, "crasher", { id: "crasher", name: "Crasher", entrypoint: "main.mjs", version: "0.1.0", capabilities: [capability("never")] }, { "main.mjs": "process.exit(7);\n" });
  web = createServer((request, response) => {
    if (request.url !== "/hang") return response.writeHead(200, { "content-type": "text/plain" }).end(`hello from ${request.url}`);
    const seen: { arrived: number; closed?: number } = { arrived: Date.now() };
    hanging.push(seen);
    request.socket.once("close", () => (seen.closed = Date.now()));
  });
  await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
  webPort = (web.address() as AddressInfo).port;
  server = await startNode();
  const stored = await server.request("/api/vault/secrets/plugins/text-key", { method: "PUT", json: { value: SECRET } });
  expect(stored.status, await stored.clone().text()).toBe(200);
}, 60_000);

afterAll(async () => {
  await server?.dispose();
  web?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function startNode(): Promise<TestServer> {
  return startTestServer({
    keepDataDir: dataDir,
    config: { plugins: { trustedKeys: [publisher.did], restart: { initialDelayMs: 50, maxDelayMs: 200, crashLoopCount: 3, crashLoopWindowMs: 60_000 } } },
  });
}

async function post(path: string, json?: unknown): Promise<Response> {
  return server.request(path, { method: "POST", ...(json !== undefined ? { json } : {}) });
}

async function plugin(id: string): Promise<PluginDetail> {
  const response = await server.request(`/api/plugins/${id}`);
  expect(response.status).toBe(200);
  return PluginDetailSchema.parse(await response.json());
}

async function enable(id: string): Promise<PluginDetail> {
  const response = await post(`/api/plugins/${id}/enable`);
  expect(response.status, await response.clone().text()).toBe(200);
  return PluginDetailSchema.parse(await response.json());
}

async function route(name: string, request: unknown): Promise<Response> {
  return post(`/api/route/${name}`, { request });
}

async function errorCode(response: Response): Promise<string> {
  return ErrorBodySchema.parse(await response.json()).error.code;
}

async function securityEvents(type: string): Promise<Array<{ outcome: string; actor: string | null; details: Record<string, unknown> }>> {
  const response = await server.request(`/api/security/events?type=${type}&limit=200`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: Array<{ outcome: string; actor: string | null; details: Record<string, unknown> }> }).events;
}

async function runTask(body: Record<string, unknown>): Promise<Task> {
  const created = await post("/api/agent/task", body);
  expect(created.status, await created.clone().text()).toBe(202);
  const id = TaskSchema.parse(((await created.json()) as { task: unknown }).task).id;
  return eventually(async () => {
    const task = TaskSchema.parse(((await (await server.request(`/api/agent/task/${id}`)).json()) as { task: unknown }).task);
    return TERMINAL_TASK_STATES.includes(task.state) ? task : undefined;
  }, 15_000);
}

describe("a trusted plugin, enabled", () => {
  it("is disabled until enabled, then runs isolated and is a registry record", async () => {
    expect((await plugin("text-tools")).runtime).toMatchObject({ enabled: false, state: "disabled" });
    const enabled = await enable("text-tools");
    expect(enabled.trust.level).toBe("trusted");
    expect(enabled.runtime).toMatchObject({ enabled: true, state: "running", restarts: 0, capabilities: ["text_reverse", "peek_secret", "services", "fetch_url", "fetch_forget", "exit", "relay", "remember"] });
    // A trusted plugin without a network: permission gets no network either (when the host allows namespaces).
    expect(enabled.runtime?.isolation?.permissionModel).toBe(true);
    const record = (await (await server.request("/api/services/plugin:text-tools")).json()) as { type: string; capabilities: string[]; status: string; metadata: { agent: { transport: string } } };
    expect(record).toMatchObject({ type: "tool", status: "active", metadata: { agent: { transport: "plugin" } } });
    expect(record.capabilities).toEqual(expect.arrayContaining(["text_reverse", "peek_secret"]));
    const list = PluginListResponseSchema.parse(await (await server.request("/api/plugins")).json());
    expect(list.plugins.find((entry) => entry.id === "text-tools")?.runtime?.state).toBe("running");
    const audit = await securityEvents("plugin.enable");
    expect(audit[0]).toMatchObject({ outcome: "success", details: { plugin: "text-tools", trust: "trusted" } });
  });

  it("serves its capability through the gateway's generic route, its input checked against the manifest's schema", async () => {
    const response = await route("text_reverse", { text: "plugin" });
    expect(response.status, await response.clone().text()).toBe(200);
    const body = RouteResponseSchema.parse(await response.json());
    expect(body).toMatchObject({ response: { reversed: "nigulp" }, servedBy: { id: "plugin:text-tools", provider: "plugin" }, attempts: 1 });
    const invalid = await route("text_reverse", { words: "plugin" });
    expect(invalid.status).toBe(422);
    expect(await errorCode(invalid)).toBe("plugin_input_invalid");
    // The caller needs gateway:invoke, as for any routed capability.
    const token = (await (await post("/api/tokens", { name: "reader", scopes: ["services:read"] })).json()) as { token: string };
    const denied = await server.request("/api/route/text_reverse", { method: "POST", json: { request: { text: "x" } }, token: token.token });
    expect(denied.status).toBe(403);
  });

  it("runs an agent step of its capability", async () => {
    const task = await runTask({ goal: "reverse a word", capability: "text_reverse", input: { text: "kai" } });
    expect(task.state, JSON.stringify(task.steps)).toBe("completed");
    expect(task.steps[0]?.assignee).toBe("plugin:text-tools");
    expect(task.result).toEqual({ main: { reversed: "iak" } });
  });

  it("reads the vault and the registry within its permissions; every ServiceBus call is in the security log", async () => {
    const secret = await route("peek_secret", { name: "plugins/text-key" });
    expect(secret.status, await secret.clone().text()).toBe(200);
    expect(RouteResponseSchema.parse(await secret.json()).response).toBe(SECRET.length);
    const outside = await route("peek_secret", { name: "openai/key" });
    expect(outside.status).toBe(502);
    expect(JSON.stringify(await outside.json())).toMatch(/needs a vault_read permission/);
    const services = await route("services", {});
    expect(RouteResponseSchema.parse(await services.json()).response).toEqual(["plugin:text-tools"]);
    const calls = await eventually(async () => {
      const events = (await securityEvents("plugin.call")).filter((event) => event.details.plugin === "text-tools");
      return events.length >= 3 ? events : undefined;
    });
    expect(calls).toEqual(expect.arrayContaining([
      expect.objectContaining({ outcome: "success", actor: "plugin:text-tools", details: expect.objectContaining({ method: "vault.read", target: "plugins/text-key" }) }),
      expect.objectContaining({ outcome: "failure", details: expect.objectContaining({ method: "vault.read", target: "openai/key" }) }),
      expect.objectContaining({ outcome: "success", details: expect.objectContaining({ method: "registry.list" }) }),
    ]));
    // The secret's value is in no log line and no security event.
    expect(server.logs.join("\n")).not.toContain(SECRET);
    expect(JSON.stringify(calls)).not.toContain(SECRET);
  });

  it("reaches the hosts its network: permission names through the node, and no other", async () => {
    const allowed = await route("fetch_url", { url: `http://127.0.0.1:${webPort}/weather` });
    expect(allowed.status, await allowed.clone().text()).toBe(200);
    expect(RouteResponseSchema.parse(await allowed.json()).response).toMatchObject({ status: 200, body: "hello from /weather", encoding: "utf8", truncated: false });
    const other = await route("fetch_url", { url: `http://localhost:${webPort}/weather` });
    expect(other.status).toBe(502);
    expect(JSON.stringify(await other.json())).toMatch(/needs a network:localhost permission/);
    const refused = await eventually(async () => (await securityEvents("plugin.call")).find((event) => event.details.method === "net.fetch" && event.outcome === "failure"));
    expect(refused.details).toMatchObject({ plugin: "text-tools", target: `localhost:${webPort}` });
  });

  it("has its net.fetch cancelled when its process ends, not left open until the fetch's deadline", async () => {
    const started = await route("fetch_forget", { url: `http://127.0.0.1:${webPort}/hang` });
    expect(started.status, await started.clone().text()).toBe(200);
    const request = await eventually(async () => hanging[0]);
    expect(request.closed).toBeUndefined();
    expect((await route("exit", {})).status).toBe(200);
    // The fetch asked for 30 s; its connection closes as soon as the node sees the process gone.
    const closed = await eventually(async () => request.closed, 10_000, 50);
    expect(closed - request.arrived).toBeLessThan(15_000);
    await eventually(async () => (await plugin("text-tools")).runtime?.state === "running", 20_000, 100);
  }, 40_000);
});

describe.skipIf(!ISOLATED)("an unverified plugin", () => {
  it("gets no secret whatever it declares, reads no file outside its folder, opens no socket", async () => {
    const enabled = await enable("nosy");
    expect(enabled.trust.level).toBe("unverified");
    expect(enabled.runtime?.state).toBe("running");
    const steal = await route("steal", {});
    expect(steal.status).toBe(502);
    expect(JSON.stringify(await steal.json())).toMatch(/unverified plugin is never granted it/);
    const refused = await eventually(async () => (await securityEvents("plugin.call")).find((event) => event.details.plugin === "nosy" && event.outcome === "failure"));
    expect(refused.details).toMatchObject({ method: "vault.read", target: "plugins/text-key" });
    const file = await route("read_file", {});
    expect(file.status).toBe(502);
    expect(JSON.stringify(await file.json())).toMatch(/ERR_ACCESS_DENIED|has been restricted/i);
    expect(enabled.runtime?.isolation).toEqual({ prlimit: true, networkNamespace: true, permissionModel: true, fileBoundary: true });
    const socket = await route("connect", Number(new URL(server.url).port));
    expect(socket.status).toBe(502);
    expect(JSON.stringify(await socket.json())).toMatch(/ENETUNREACH|ECONNREFUSED|EACCES|ERR_ACCESS_DENIED/);
  });

  it("is invoked by another plugin holding invoke:<capability>, and only for that capability", async () => {
    const relayed = await route("relay", { capability: "ping", input: {} });
    expect(relayed.status, await relayed.clone().text()).toBe(200);
    expect(RouteResponseSchema.parse(await relayed.json()).response).toBe("pong");
    const other = await route("relay", { capability: "read_file", input: {} });
    expect(other.status).toBe(502);
    expect(JSON.stringify(await other.json())).toMatch(/needs the invoke:read_file permission/);
    // Memory needs its own permission (text-tools has no memory_write).
    const remember = await route("remember", { text: "a fact" });
    expect(JSON.stringify(await remember.json())).toMatch(/memory.add needs the memory_write permission/);
  });

  it("is stopped when it holds Buffers past its memory limit, and when it floods the bus; the node restarts it and keeps serving", async () => {
    // 512 MiB of Buffers: outside its 64 MiB heap, past its 256 MiB data segment (RLIMIT_DATA).
    const grow = await route("hoard", {});
    expect(grow.status).toBe(503);
    const afterGrow = await eventually(async () => {
      const current = await plugin("nosy");
      return current.runtime?.state === "running" && current.runtime.restarts >= 1 ? current : undefined;
    });
    expect(afterGrow.runtime?.restarts).toBeGreaterThanOrEqual(1);
    const flood = await route("flood", {});
    expect([200, 503]).toContain(flood.status);
    const stopped = await eventually(async () => {
      const current = await plugin("nosy");
      return current.runtime?.restarts !== undefined && current.runtime.restarts >= 2 ? current : undefined;
    });
    expect(stopped.runtime?.restarts).toBeGreaterThanOrEqual(2);
    // Stopped for the flood: past its call rate, or past its calls waiting, whichever it hit first.
    expect(server.logs.some((line) => /plugin nosy is restarting: (made more than 100 calls per second|had more than 32 calls to the node waiting)/.test(line))).toBe(true);
    // Each stop is in the security log, with why.
    const stops = await eventually(async () => {
      const events = (await securityEvents("plugin.stopped")).filter((event) => event.details.plugin === "nosy");
      return events.length >= 2 ? events : undefined;
    });
    expect(stops.map((event) => event.details.reason)).toEqual(expect.arrayContaining([
      expect.stringMatching(/exceeded its memory limit \(64 MiB of heap, 256 MiB in all\)/),
      expect.stringMatching(/made more than 100 calls per second|had more than 32 calls to the node waiting/),
    ]));
    expect(stops[0]).toMatchObject({ outcome: "failure", actor: "plugin:nosy", details: { state: "restarting", trust: "unverified" } });
    // The node kept serving the other plugin meanwhile.
    expect((await route("text_reverse", { text: "ok" })).status).toBe(200);
  });
});

describe("a plugin that holds a core", () => {
  it.skipIf(!ISOLATED)("is stopped past its CPU share, in the security log like a memory breach; the node keeps serving", async () => {
    expect((await enable("spinner")).runtime?.state).toBe("running");
    // It answers, then spins with no call pending: only its CPU share (10% over 2 s, from its manifest) catches it.
    const spun = await route("spin", {});
    expect(spun.status, await spun.clone().text()).toBe(200);
    const stops = await eventually(async () => {
      const events = (await securityEvents("plugin.stopped")).filter((event) => event.details.plugin === "spinner");
      return events.length >= 1 ? events : undefined;
    }, 20_000);
    expect(stops[0]).toMatchObject({ outcome: "failure", actor: "plugin:spinner", details: { state: "restarting", trust: "unverified", reason: expect.stringMatching(/^used \d+% of a CPU over 2 s, more than its share of 10%$/) } });
    // Restarted (idle now), and the node served the other plugins throughout; the listing says what stopped it.
    await eventually(async () => ((await plugin("spinner")).runtime?.state === "running" ? true : undefined));
    expect((await plugin("spinner")).runtime?.lastEnd).toBe("overloaded");
    expect((await route("text_reverse", { text: "ok" })).status).toBe(200);
    await post("/api/plugins/spinner/disable");
  }, 30_000);
});

describe("a plugin whose dependencies are not in its folder", () => {
  it("is not started, and says which package and why; with the package at an accepted version it runs", async () => {
    const refused = await enable("needs-pad");
    expect(refused.runtime).toMatchObject({ enabled: true, state: "failed", reason: expect.stringContaining("dependency left-pad is 0.9.0, the manifest needs ^1.0.0") });
    writeFileSync(join(dataDir, "plugins", "needs-pad", "node_modules", "left-pad", "package.json"), JSON.stringify({ name: "left-pad", version: "1.3.0" }));
    expect((await post("/api/plugins/rescan")).status).toBe(200);
    const running = await enable("needs-pad");
    expect(running.runtime?.state).toBe("running");
    await post("/api/plugins/needs-pad/disable");
  });
});

describe("a plugin that crashes at every start", () => {
  it("ends failed after the crash loop, named in its state; enabling again tries anew", async () => {
    await enable("crasher");
    const failed = await eventually(async () => {
      const current = await plugin("crasher");
      return current.runtime?.state === "failed" ? current : undefined;
    });
    expect(failed.runtime?.reason).toMatch(/ended 3 times within 60 s/);
    expect((await server.request("/api/services/plugin:crasher")).status).toBe(404);
    const again = await enable("crasher");
    expect(["starting", "restarting", "failed"]).toContain(again.runtime?.state);
  });
});

describe("a new version of an enabled plugin", () => {
  it("is rolled back when it fails its health check, and the old version keeps running; a good one replaces it live", async () => {
    const source = mkdtempSync(join(tmpdir(), "kai-plugin-versions-"));
    try {
      const version = (v: string, health: string) => makePlugin(source, `echo-${v}`, {
        id: "echo", name: "Echo", entrypoint: "main.mjs", version: v, capabilities: [capability("echo_version")],
      }, { "main.mjs": `export default { capabilities: { echo_version: () => "${v}", health: () => (${health}) } };\n` });
      const install = async (folder: string, replace: boolean) => server.request(`/api/plugins/install${replace ? "?replace=true" : ""}`, {
        method: "POST", body: await packFolder(folder), headers: { "content-type": "application/gzip" },
      });
      expect((await install(version("1.0.0", "{ ok: true }"), false)).status).toBe(201);
      await enable("echo");
      expect(RouteResponseSchema.parse(await (await route("echo_version", {})).json()).response).toBe("1.0.0");
      const failing = await install(version("1.1.0", "{ ok: false }"), true);
      expect(failing.status).toBe(422);
      expect(await errorCode(failing)).toBe("plugin_start_failed");
      expect((await plugin("echo")).version).toBe("1.0.0");
      expect(RouteResponseSchema.parse(await (await route("echo_version", {})).json()).response).toBe("1.0.0");
      expect((await install(version("1.2.0", "{ ok: true }"), true)).status).toBe(201);
      expect(RouteResponseSchema.parse(await (await route("echo_version", {})).json()).response).toBe("1.2.0");
      await post("/api/plugins/echo/disable");
    } finally {
      rmSync(source, { recursive: true, force: true });
    }
  });
});

describe("the enabled set", () => {
  it("survives a restart of the node; disable stops the plugin and removes its record", async () => {
    await post("/api/plugins/crasher/disable");
    await post("/api/plugins/nosy/disable");
    await server.dispose();
    server = await startNode();
    const running = await eventually(async () => {
      const current = await plugin("text-tools");
      return current.runtime?.state === "running" ? current : undefined;
    });
    expect(running.runtime?.enabled).toBe(true);
    expect((await plugin("nosy")).runtime).toMatchObject({ enabled: false, state: "disabled" });
    expect((await route("text_reverse", { text: "ab" })).status).toBe(200);
    const disabled = await post("/api/plugins/text-tools/disable");
    expect(disabled.status).toBe(200);
    expect(PluginDetailSchema.parse(await disabled.json()).runtime).toMatchObject({ enabled: false, state: "disabled" });
    expect((await server.request("/api/services/plugin:text-tools")).status).toBe(404);
    expect((await route("text_reverse", { text: "ab" })).status).toBe(400);
    expect((await post("/api/plugins/no-such-plugin/enable")).status).toBe(404);
  });
});
