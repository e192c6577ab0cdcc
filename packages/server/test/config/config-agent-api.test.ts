/**
 * Agent overrides (issue 18) through a real node: a user file with an `agents/` folder beside it. `GET /api/config`
 * and `explain` with `?agent=` show the agent's view and its file; a hostile or unknown query is refused 400
 * `validation_failed`; `PATCH ?agent=` is refused (the runtime layer is node-wide). The consumers change behaviour:
 * kCore times a step out after the assignee's own `agents.tasks.stepTimeoutMs`, kPlanner asks with its file's
 * temperature and stops after its file's attempts. Files are watched: a change applies (a CONFIG_UPDATE event with
 * the agent's id and a security event), a broken file keeps the last good view and the log says why.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { AgentIdSchema, type BusEvent, type ConfigExplainResponse, type NodeConfigResponse } from "@kai/protocol";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { OPENAI_MODEL } from "../gateway/fakes/openai-fake.js";
import { startScriptedOpenAI, type ScriptedOpenAI } from "../agents/planner/scripted-openai.js";
import { HttpAgent } from "../agents/kcore/http-agent.js";
import { registerHttpAgent } from "../agents/a2a-push/a2a-support.js";
import { createTask, taskReaching } from "../helpers/tasks.js";

const dir = mkdtempSync(join(tmpdir(), "kai-agent-api-"));
const configFile = join(dir, "kai.yaml");
const agentsDir = join(dir, "agents");
const slowFile = join(agentsDir, "kTool.slow.yaml");
const plannerFile = join(agentsDir, "kPlanner.main.yaml");
const manifestAgentFile = join(agentsDir, "kExecutor.bounded.yaml");

let server: TestServer;
let llm: ScriptedOpenAI;
let alice: string;
let configAdmin: string;
const hanging: HttpAgent[] = [];
const events: BusEvent[] = [];

const view = async (query: string) => {
  const response = await server.request(`/api/config${query}`, { token: configAdmin });
  expect(response.status, query).toBe(200);
  return (await response.json()) as NodeConfigResponse;
};
const timeoutOf = (body: NodeConfigResponse) => ((body.config.agents as { tasks: { stepTimeoutMs: number } }).tasks.stepTimeoutMs);

beforeAll(async () => {
  mkdirSync(agentsDir);
  writeFileSync(configFile, "agents:\n  tasks:\n    stepTimeoutMs: 400\n");
  writeFileSync(slowFile, "agents:\n  tasks:\n    stepTimeoutMs: 150\n");
  writeFileSync(manifestAgentFile, "agents:\n  tasks:\n    stepTimeoutMs: 150\n");
  writeFileSync(plannerFile, "agents:\n  planner:\n    attempts: 1\n    temperature: 0.9\n");
  llm = await startScriptedOpenAI();
  server = await startTestServer({ configFile, config: { rateLimit: { enabled: false } } });
  server.mesh.bus.subscribe((event) => {
    if (event.type === "CONFIG_UPDATE") events.push(event);
  });
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  configAdmin = await mintToken(server, ["config:admin"], "carol");
  const register = async (body: Record<string, unknown>) => {
    const response = await server.request("/api/services/register", { method: "POST", json: body });
    expect(response.status, await response.text()).toBe(201);
  };
  await register(registration({ id: "llm", provider: "openai", url: llm.fake.url, capabilities: ["llm_chat"], owner: "alice", visibility: "private" }));
  // Two tools that never answer, registered without an agent manifest (so no manifest limit gives a timeout).
  for (const [id, capability] of [["kTool:slow", "slow_work"], ["kTool:other", "other_work"]] as const) {
    const agent = await HttpAgent.start(id, () => "hang");
    hanging.push(agent);
    await register(registration({ id, type: "tool", provider: undefined, capabilities: [capability], url: agent.url }));
  }
  // An agent whose signed manifest says 30 s: the operator's file (150 ms) overrides what the agent says of itself.
  hanging.push(await registerHttpAgent(server, alice, "kExecutor:bounded", "bounded_work", () => "hang"));
  await eventually(async () => {
    const models = await server.request("/v1/models?capability=llm_chat");
    return models.ok && ((await models.json()) as { data: { id: string }[] }).data.some((model) => model.id === OPENAI_MODEL);
  });
});
afterAll(async () => {
  await server?.dispose();
  await llm?.fake.close();
  for (const agent of hanging) await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("GET /api/config and explain with ?agent=", () => {
  it("show the agent's view and its file; the node-wide view has no agent layer", async () => {
    const slow = await view("?agent=kTool:slow");
    expect(timeoutOf(slow)).toBe(150);
    expect(slow.agent).toEqual({ id: "kTool:slow", source: slowFile, keys: ["agents.tasks.stepTimeoutMs"] });
    expect(timeoutOf(await view(""))).toBe(400);
    const none = await view("?agent=kTool:other");
    expect(timeoutOf(none)).toBe(400);
    expect(none.agent).toEqual({ id: "kTool:other", source: null, keys: [] });

    const explained = (await (await server.request("/api/config/explain?key=agents.tasks.stepTimeoutMs&agent=kTool:slow", { token: configAdmin })).json()) as ConfigExplainResponse;
    expect(explained).toMatchObject({ agent: "kTool:slow", value: 150, winner: "agent", live: true });
    expect(explained.layers.find((layer) => layer.layer === "agent")).toMatchObject({ source: slowFile, set: true, value: 150 });
  });

  it("refuse an id that is not kClass:name, an unknown query, and a per-agent PATCH, with validation_failed", async () => {
    for (const path of ["/api/config?agent=../../x", "/api/config?agent=kTool%3A..%2F..%2Fx", "/api/config?agent=kTool:slow&x=1", "/api/config/explain?key=logging.level&agent=..%2Fetc"]) {
      const response = await server.request(path, { token: configAdmin });
      expect(response.status, path).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    }
    const patched = await server.request("/api/config?agent=kTool:slow", { method: "PATCH", token: configAdmin, json: { settings: { "agents.tasks.stepTimeoutMs": 200 } } });
    expect(patched.status).toBe(400);
    expect(((await patched.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
    expect(timeoutOf(await view(""))).toBe(400);
    // Any string as the agent: a 200 for an agent id, else 400 validation_failed; never a 5xx, never a path read.
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 120 }), fc.constantFrom("kTool:slow/../../etc", "kTool:.", "kTool:slow\u0000", "kTool:slow.yaml", `kA:${"a".repeat(200)}`)), async (agent) => {
        const valid = AgentIdSchema.safeParse(agent).success;
        for (const path of [`/api/config?agent=${encodeURIComponent(agent)}`, `/api/config/explain?key=logging.level&agent=${encodeURIComponent(agent)}`]) {
          const response = await server.request(path, { token: configAdmin });
          expect(response.status, `${path} ${valid}`).toBe(valid ? 200 : 400);
          if (!valid) expect(((await response.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
        }
      }),
      { numRuns: 40 },
    );
    // Still config:admin only.
    expect((await server.request("/api/config?agent=kTool:slow", { token: alice })).status).toBe(403);
  });
});

describe("the consumers read the agent's view", () => {
  it("kCore times a step out after its assignee's own stepTimeoutMs; another tool gets the node's", async () => {
    const run = async (capability: string) => {
      const task = await createTask(server, alice, { goal: capability, plan: { goal: capability, steps: [{ id: "wait", capability, retries: 0 }] } });
      const done = await taskReaching(server, alice, task.id);
      expect(done.state).toBe("failed");
      return done.steps[0]?.error;
    };
    expect(await run("slow_work")).toMatchObject({ code: "step_timeout", message: "kTool:slow gave no answer within 150 ms" });
    expect(await run("other_work")).toMatchObject({ code: "step_timeout", message: "kTool:other gave no answer within 400 ms" });
    expect(await run("bounded_work")).toMatchObject({ code: "step_timeout", message: "kExecutor:bounded gave no answer within 150 ms" });
  });

  it("kPlanner asks with its file's temperature and stops after its file's attempts; a changed file applies to the next plan", async () => {
    llm.script();
    const first = await server.request("/api/planner/plan", { method: "POST", json: { goal: "never a plan" }, token: alice });
    expect(first.status).toBe(422);
    expect(llm.chats()).toHaveLength(1);
    expect((llm.chats()[0]?.body as { temperature?: number }).temperature).toBe(0.9);

    writeFileSync(plannerFile, "agents:\n  planner:\n    attempts: 2\n    temperature: 0.5\n");
    await eventually(async () => ((await view("?agent=kPlanner:main")).config.agents as { planner: { attempts: number } }).planner.attempts === 2);
    llm.script();
    const second = await server.request("/api/planner/plan", { method: "POST", json: { goal: "never a plan" }, token: alice });
    expect(second.status).toBe(422);
    expect(llm.chats()).toHaveLength(2);
    expect(llm.chats().map((chat) => (chat.body as { temperature?: number }).temperature)).toEqual([0.5, 0.5]);
    // Announced for the agent, and audited with the file as the actor.
    const update = await eventually(async () => events.find((event) => event.payload.agentId === "kPlanner:main" && event.payload.key === "agents.planner.attempts"));
    expect(update).toMatchObject({ agent: "kPlanner:main", payload: { by: "file" } });
    const audit = await eventually(async () => server.logs.find((line) => line.includes('"config_changed"') && line.includes('"agent":"kPlanner:main"') && line.includes("agents.planner.temperature")));
    expect(audit).toContain('"actor":"file"');
  });
});

describe("agent files reloaded on change", () => {
  it("a broken file keeps the last good view and says why, naming the file and key", async () => {
    writeFileSync(slowFile, "agents:\n  tasks:\n    stepTimeoutMs: 150\nlogging:\n  level: debug\n");
    const line = await eventually(async () => server.logs.find((entry) => entry.includes("kept the last good configuration") && entry.includes(slowFile)));
    expect(line).toContain("logging.level");
    expect(timeoutOf(await view("?agent=kTool:slow"))).toBe(150);
    writeFileSync(slowFile, "agents:\n  tasks:\n    stepTimeoutMs: 250\n");
    await eventually(async () => timeoutOf(await view("?agent=kTool:slow")) === 250);
  });
});
