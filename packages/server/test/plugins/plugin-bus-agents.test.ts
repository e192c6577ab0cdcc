// The ServiceBus between plugins, agents and the registry, from real plugin processes in a real node (issue 18,
// docs/plugins.md "ServiceBus"): `agent.invoke` hands a one-step task to a real agent (an HTTP agent registered by a
// signed manifest) through kCore and answers its output; an agent the plugin's `agent_invoke:` permissions do not name,
// and any agent for an unverified plugin, is refused (and security-logged); an agent that does not answer in time
// ends in `upstream_timeout` and its task is canceled; when the calling plugin's process crashes or is stopped while
// an agent works, the task is canceled at once (the agent's request closed long before the call's timeout). Registry changes reach a plugin that holds `registry_read` and
// subscribed to REGISTRY_CHANGE, only for records a signed-in caller may see; a plugin without `registry_read` gets
// none. The built host script is needed (`npx tsc -b packages/server` first).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp, RouteResponseSchema, signAgentManifest, TaskSchema, type BusEvent } from "@kai/protocol";
import { signPluginFolder } from "../../src/plugins/plugin-signature.js";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { HttpAgent } from "../agents/kcore/http-agent.js";
import { makePlugin } from "./plugin-fixtures.js";

const publisher = klp.generateKeyPair();

const CALLER = `
export default { capabilities: {
  call: async ({ agent, ...request }, kai) => {
    try { return await kai.agents.invoke(agent, request); } catch (error) { return { code: error.code, message: error.message }; }
  },
  die: () => process.exit(7),
}};
`;

/** The caller's code for plugin `id`: its capabilities named `<id>_call` and `<id>_die`. */
const callerCode = (id: string) => CALLER.replace("call:", `${id.replace(/-/g, "_")}_call:`).replace("die:", `${id.replace(/-/g, "_")}_die:`);

const WATCHER = `
const seen = [];
export default { capabilities: {
  watch: async (_input, kai) => { await kai.events.subscribe((event) => seen.push(event), ["REGISTRY_CHANGE"]); return "watching"; },
  subscribed: async (_input, kai) => kai.call("events.subscribe", { types: ["REGISTRY_CHANGE"] }),
  changes: () => seen,
}};
`;

let dataDir: string;
let server: TestServer;
let echo: HttpAgent;
let other: HttpAgent;
let sleeper: HttpAgent;

/** Registers `agent` (a signed manifest, `internal`: any signed-in caller, a plugin too, may see it) offering `capability`. */
async function registerAgent(agent: HttpAgent, capability: string): Promise<void> {
  const manifest = signAgentManifest({
    id: agent.id, name: agent.id, visibility: "internal",
    skills: [{ id: "s0", name: capability, capability }],
    endpoint: { transport: "http", url: agent.url },
    limits: { maxConcurrentTasks: 4, stepTimeoutMs: 30_000 },
  }, klp.generateKeyPair());
  const response = await server.request("/api/agents", { method: "POST", json: manifest });
  expect(response.status, await response.clone().text()).toBe(201);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "kai-plugin-agents-"));
  const plugins = join(dataDir, "plugins");
  const callerManifest = (id: string) => ({ id, name: id, entrypoint: "main.mjs", version: "1.0.0", permissions: ["agent_invoke:kExecutor:echo", "agent_invoke:kSlow:*"], capabilities: [{ name: `${id.replace(/-/g, "_")}_call` }, { name: `${id.replace(/-/g, "_")}_die` }] });
  const signed = makePlugin(plugins, "agent-caller", callerManifest("agent-caller"), { "main.mjs": callerCode("agent-caller") });
  await signPluginFolder(signed, { id: "agent-caller", version: "1.0.0" }, publisher);
  // The same plugin, unsigned: unverified.
  makePlugin(plugins, "unsigned-caller", callerManifest("unsigned-caller"), { "main.mjs": callerCode("unsigned-caller") });
  makePlugin(plugins, "watcher", { id: "watcher", name: "Watcher", entrypoint: "main.mjs", version: "1.0.0", permissions: ["registry_read", "events_subscribe"], capabilities: [{ name: "watch" }, { name: "changes" }] }, { "main.mjs": WATCHER });
  makePlugin(plugins, "deaf", { id: "deaf", name: "Deaf", entrypoint: "main.mjs", version: "1.0.0", permissions: ["events_subscribe"], capabilities: [{ name: "subscribed" }] }, { "main.mjs": WATCHER });
  server = await startTestServer({
    keepDataDir: dataDir,
    // A crashed plugin is started again at once (the test crashes one on purpose).
    config: { rateLimit: { enabled: false }, plugins: { trustedKeys: [publisher.did], restart: { initialDelayMs: 10, maxDelayMs: 10 } } },
  });
  echo = await HttpAgent.start("kExecutor:echo", (step) => ({ body: { output: { echoed: step.input, capability: step.capability } } }));
  other = await HttpAgent.start("kExecutor:other", () => ({ body: { output: "other" } }));
  sleeper = await HttpAgent.start("kSlow:sleeper", () => "hang");
  await registerAgent(echo, "echo_text");
  await registerAgent(other, "echo_text");
  await registerAgent(sleeper, "sleep");
  for (const id of ["agent-caller", "unsigned-caller", "watcher", "deaf"]) {
    const enabled = await server.request(`/api/plugins/${id}/enable`, { method: "POST" });
    expect(enabled.status, await enabled.clone().text()).toBe(200);
  }
}, 60_000);

afterAll(async () => {
  await server?.dispose();
  await Promise.all([echo?.close(), other?.close(), sleeper?.close()]);
  rmSync(dataDir, { recursive: true, force: true });
});

async function answer(name: string, request: unknown): Promise<unknown> {
  const response = await server.request(`/api/route/${name}`, { method: "POST", json: { request } });
  expect(response.status, await response.clone().text()).toBe(200);
  return RouteResponseSchema.parse(await response.json()).response;
}

async function callEvents(): Promise<Array<{ outcome: string; actor: string | null; details: Record<string, unknown> }>> {
  const response = await server.request("/api/security/events?type=plugin.call&limit=200");
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: Array<{ outcome: string; actor: string | null; details: Record<string, unknown> }> }).events;
}

describe("agent.invoke", () => {
  it("hands a task to the agent its permission names through kCore and answers the agent's output", async () => {
    const result = await answer("agent_caller_call", { agent: "kExecutor:echo", input: { text: "hello" } }) as { taskId: string; agent: string; output: unknown };
    expect(result).toMatchObject({ agent: "kExecutor:echo", output: { echoed: { text: "hello" }, capability: "echo_text" } });
    expect(echo.received).toHaveLength(1);
    // A task of kCore's like any other, owned by the plugin (an admin reads it).
    const task = await server.request(`/api/agent/task/${result.taskId}`);
    expect(task.status).toBe(200);
    expect(TaskSchema.parse(((await task.json()) as { task: unknown }).task)).toMatchObject({ owner: "plugin:agent-caller", state: "completed" });
    const logged = await eventually(async () => (await callEvents()).find((event) => event.details.method === "agent.invoke" && event.outcome === "success"));
    expect(logged).toMatchObject({ actor: "plugin:agent-caller", details: { plugin: "agent-caller", target: "kExecutor:echo" } });
  });

  it("refuses an agent no agent_invoke permission names, and every agent to an unverified plugin", async () => {
    expect(await answer("agent_caller_call", { agent: "kExecutor:other", input: {} })).toMatchObject({ code: "plugin_permission_denied", message: expect.stringMatching(/agent_invoke:kExecutor:other/) });
    expect(await answer("unsigned_caller_call", { agent: "kExecutor:echo", input: {} })).toMatchObject({ code: "plugin_permission_denied", message: expect.stringMatching(/unverified plugin is never granted it/) });
    expect(other.received).toHaveLength(0);
    expect(echo.received).toHaveLength(1);
    const refused = await eventually(async () => {
      const events = (await callEvents()).filter((event) => event.details.method === "agent.invoke" && event.outcome === "failure");
      return events.length >= 2 ? events : undefined;
    });
    expect(refused.map((event) => event.actor).sort()).toEqual(["plugin:agent-caller", "plugin:unsigned-caller"]);
  });

  it("ends in upstream_timeout when the agent does not answer in time, and cancels the task", async () => {
    const result = await answer("agent_caller_call", { agent: "kSlow:sleeper", input: {}, timeoutMs: 1_000 }) as { code: string; message: string };
    expect(result).toMatchObject({ code: "upstream_timeout", message: expect.stringMatching(/did not finish task (task_\w+) within 1000 ms; it was canceled/) });
    const taskId = /(task_\w+)/.exec(result.message)![1]!;
    // The node closed the agent's request when it canceled the task.
    await sleeper.waitForAbort(0);
    const task = await server.request(`/api/agent/task/${taskId}`);
    expect(TaskSchema.parse(((await task.json()) as { task: unknown }).task).state).toBe("canceled");
  });
});

describe("agent.invoke when the calling plugin's process ends", () => {
  /** Starts a call to the hanging agent with a long timeout; answers the route call (pending) and the task, once the agent has its step. */
  async function hangingCall(): Promise<{ pending: Promise<Response>; index: number; taskId: string }> {
    const index = sleeper.received.length;
    const pending = server.request("/api/route/agent_caller_call", { method: "POST", json: { request: { agent: "kSlow:sleeper", input: {}, timeoutMs: 50_000 } } });
    await sleeper.waitForSteps(index + 1);
    return { pending, index, taskId: sleeper.received[index]!.body.taskId };
  }

  async function expectCanceled(call: { pending: Promise<Response>; index: number; taskId: string }): Promise<void> {
    // The agent's request is closed within waitForAbort's 10 s, not at the call's 50 s timeout.
    await sleeper.waitForAbort(call.index);
    const task = await server.request(`/api/agent/task/${call.taskId}`);
    expect(TaskSchema.parse(((await task.json()) as { task: unknown }).task)).toMatchObject({ owner: "plugin:agent-caller", state: "canceled" });
    // The route call that set it off fails: its plugin is gone.
    expect((await call.pending).status).not.toBe(200);
  }

  async function runningAgain(): Promise<void> {
    await eventually(async () => {
      const response = await server.request("/api/plugins/agent-caller");
      const detail = (await response.json()) as { runtime?: { state: string } };
      return detail.runtime?.state === "running" && (await server.request("/api/route/agent_caller_call", { method: "POST", json: { request: { agent: "kExecutor:echo", input: {} } } })).status === 200;
    }, 20_000, 100);
  }

  it("cancels the task at once when the plugin crashes while the agent works", async () => {
    const call = await hangingCall();
    await server.request("/api/route/agent_caller_die", { method: "POST", json: { request: {} } });
    await expectCanceled(call);
    await runningAgain();
  }, 30_000);

  it("cancels the task at once when the plugin is stopped (disabled) while the agent works", async () => {
    const call = await hangingCall();
    const disabled = await server.request("/api/plugins/agent-caller/disable", { method: "POST" });
    expect(disabled.status, await disabled.clone().text()).toBe(200);
    await expectCanceled(call);
    const enabled = await server.request("/api/plugins/agent-caller/enable", { method: "POST" });
    expect(enabled.status, await enabled.clone().text()).toBe(200);
    await runningAgain();
  }, 30_000);
});

describe("REGISTRY_CHANGE", () => {
  it("reaches a plugin with registry_read, only for records a signed-in caller may see; not one without it", async () => {
    expect(await answer("watch", {})).toBe("watching");
    expect(await answer("subscribed", {})).toEqual({ subscribed: [] });
    const alice = await mintToken(server, ["services:write", "services:read"]);
    const secret = await server.request("/api/services/register", { method: "POST", token: alice, json: registration({ id: "alice-private", visibility: "private" }) });
    expect(secret.status, await secret.clone().text()).toBe(201);
    const open = await server.request("/api/services/register", { method: "POST", token: alice, json: registration({ id: "alice-public" }) });
    expect(open.status, await open.clone().text()).toBe(201);
    const seen = await eventually(async () => {
      const list = (await answer("changes", {})) as BusEvent[];
      return list.some((event) => event.payload.serviceId === "alice-public") ? list : undefined;
    });
    expect(seen.find((event) => event.payload.serviceId === "alice-public")).toMatchObject({ type: "REGISTRY_CHANGE", payload: { event: "registered", name: "Test service" } });
    // The private record registered first: had it been delivered, it would be there by now (one channel, in order).
    expect(seen.some((event) => event.payload.serviceId === "alice-private")).toBe(false);
  });
});
