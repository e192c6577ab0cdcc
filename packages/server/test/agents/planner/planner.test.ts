/**
 * kPlanner through `POST /api/planner/plan` on a real node, with the fake OpenAI server behind the gateway answering
 * what each test scripts: a valid plan (in a fence, wrapped in prose), an invalid answer then a valid one, answers that
 * never become valid (422 with the problems), a capability nobody offers (refused and re-asked), the agent chosen per
 * step, and a caller who may use no language model (503, never an invented plan).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PlanResponse } from "@kai/protocol";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { OPENAI_MODEL } from "../../gateway/fakes/openai-fake.js";
import { startScriptedOpenAI, type ScriptedOpenAI } from "./scripted-openai.js";

let server: TestServer;
let llm: ScriptedOpenAI;
let alice: string;
let bob: string;

const GOAL = "Find recent news about solar power and summarise it";

/** An agent record as the registry holds one (registered directly: the signed-manifest route is the directory's test). */
function agentRecord(id: string, capability: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return registration({
    id,
    name: id,
    type: "agent",
    provider: undefined,
    capabilities: [capability],
    url: "http://127.0.0.1:9/agent",
    metadata: { agent: { transport: "http", source: "manifest", skills: [{ id: "s1", name: `${capability} skill`, capability }], limits: { maxConcurrentTasks: 2, stepTimeoutMs: 60_000 } } },
    ...extra,
  });
}

const validPlan = (summarizeAgent?: string) => ({
  goal: "the model may restate the goal; the caller's stands",
  steps: [
    { id: "search", description: "search the web", capability: "web.search", input: { query: "solar power news" } },
    { id: "summarize", capability: "text.summarize", dependsOn: ["search"], inputsFrom: { text: { step: "search", path: "results" } }, ...(summarizeAgent ? { agent: summarizeAgent } : {}) },
  ],
});

const plan = (body: unknown, token = alice) => server.request("/api/planner/plan", { method: "POST", json: body, token });
const userMessages = (index: number) => (llm.chats()[index]?.body as { messages: Array<{ role: string; content: string }> }).messages;

beforeAll(async () => {
  llm = await startScriptedOpenAI();
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  const register = async (body: Record<string, unknown>) => {
    const response = await server.request("/api/services/register", { method: "POST", json: body });
    expect(response.status, await response.text()).toBe(201);
  };
  // Only alice may use the language model: bob can plan nothing.
  await register(registration({ id: "llm", provider: "openai", url: llm.fake.url, capabilities: ["llm_chat"], owner: "alice", visibility: "private" }));
  await register(registration({ id: "search-tool", type: "tool", provider: undefined, capabilities: ["web.search"], url: "http://127.0.0.1:9/tool" }));
  await register(agentRecord("kWriter:alpha", "text.summarize", { trustLevel: "trusted" }));
  await register(agentRecord("kWriter:beta", "text.summarize"));
  await register(agentRecord("kWriter:sick", "text.summarize", { status: "degraded" }));
  alice = await mintToken(server, ["tasks:run"], "alice");
  bob = await mintToken(server, ["tasks:run"], "bob");
  // The gateway learns the fake's models after registration.
  await eventually(async () => (await server.request("/v1/models?capability=llm_chat")).ok && ((await (await server.request("/v1/models?capability=llm_chat")).json()) as { data: { id: string }[] }).data.some((model) => model.id === OPENAI_MODEL));
});
afterAll(async () => {
  await server?.dispose();
  await llm?.fake.close();
});

describe("POST /api/planner/plan", () => {
  it("returns the model's plan, validated, with the caller's goal and the model's healthy agent kept", async () => {
    llm.script(`Here is the plan:\n\`\`\`json\n${JSON.stringify(validPlan("kWriter:beta"), null, 2)}\n\`\`\`\nGood luck!`);
    const response = await plan({ goal: GOAL, context: { language: "en" } });
    expect(response.status, await response.clone().text()).toBe(200);
    const body = (await response.json()) as PlanResponse;
    expect(body).toMatchObject({ model: OPENAI_MODEL, attempts: 1, plan: { goal: GOAL } });
    expect(body.planId).toMatch(/^plan_/);
    expect(body.plan.steps.map((step) => [step.id, step.capability, step.agent])).toEqual([
      ["search", "web.search", undefined],
      ["summarize", "text.summarize", "kWriter:beta"],
    ]);
    expect(body.plan.steps[1]).toMatchObject({ dependsOn: ["search"], inputsFrom: { text: { step: "search", path: "results" } }, retries: 2 });
    // What the model was told: the schema, what the caller can use now, the goal and context.
    const [system, user] = userMessages(0);
    expect(system?.role).toBe("system");
    expect(system?.content).toContain('"dependsOn"');
    expect(system?.content).toMatch(/- text\.summarize: offered by agent kWriter:alpha, agent kWriter:beta/);
    expect(system?.content).toContain("- web.search: offered by tool search-tool");
    expect(system?.content).toContain("- llm_chat: offered by service llm");
    expect(user?.content).toContain(GOAL);
    expect(user?.content).toContain('{"language":"en"}');
    expect((llm.chats()[0]?.body as { temperature?: number }).temperature).toBe(0.2);
  });

  it("re-asks after an invalid answer, telling the model what was wrong", async () => {
    llm.script("Sure! First search, then summarise.", JSON.stringify(validPlan()));
    const response = await plan({ goal: GOAL });
    expect(response.status).toBe(200);
    expect(((await response.json()) as PlanResponse).attempts).toBe(2);
    expect(llm.chats()).toHaveLength(2);
    const second = userMessages(1);
    expect(second.at(-2)).toEqual({ role: "assistant", content: "Sure! First search, then summarise." });
    expect(second.at(-1)?.content).toMatch(/not a valid plan[\s\S]*not valid JSON|holds no JSON/);
  });

  it("refuses a step whose capability nothing offers, and re-asks naming it", async () => {
    const wishful = { steps: [{ id: "render", capability: "video.render" }] };
    llm.script(JSON.stringify(wishful), JSON.stringify(validPlan()));
    const response = await plan({ goal: GOAL });
    expect(response.status).toBe(200);
    expect(((await response.json()) as PlanResponse).plan.steps.map((step) => step.capability)).toEqual(["web.search", "text.summarize"]);
    expect(userMessages(1).at(-1)?.content).toContain('"video.render", which nothing available offers');
  });

  it("answers 422 plan_invalid naming the last problems when no answer becomes a plan", async () => {
    const cycle = { steps: [{ id: "a", capability: "web.search", dependsOn: ["b"] }, { id: "b", capability: "web.search", dependsOn: ["a"] }] };
    llm.script(JSON.stringify(cycle), JSON.stringify(cycle), JSON.stringify(cycle), JSON.stringify(validPlan()));
    const response = await plan({ goal: GOAL });
    expect(response.status).toBe(422);
    const { error } = (await response.json()) as { error: { code: string; message: string; details: Array<{ path: string; message: string }> } };
    expect(error.code).toBe("plan_invalid");
    expect(error.message).toContain("3 attempt(s)");
    expect(error.details).toEqual([{ path: "steps", message: expect.stringContaining("form a cycle") }]);
    expect(llm.chats()).toHaveLength(3); // agents.planner.attempts, default 3: the fourth (valid) answer is never asked for
  });

  it("chooses the agent: the model's unhealthy or unknown pick is replaced by the best healthy one; none for a tool's capability", async () => {
    llm.script(JSON.stringify(validPlan("kWriter:sick")), JSON.stringify(validPlan("kWriter:nobody")), JSON.stringify({ steps: [{ id: "search", capability: "web.search", agent: "kWriter:alpha" }] }));
    for (let i = 0; i < 2; i++) {
      const body = (await (await plan({ goal: GOAL })).json()) as PlanResponse;
      // Nothing runs anywhere yet: the trusted agent before the unverified one.
      expect(body.plan.steps[1]?.agent).toBe("kWriter:alpha");
    }
    const tool = (await (await plan({ goal: GOAL })).json()) as PlanResponse;
    expect(tool.plan.steps[0]).not.toHaveProperty("agent");
  });

  it("answers 503 planner_unavailable when the caller may use no language model, never inventing a plan", async () => {
    llm.script(JSON.stringify(validPlan()));
    const response = await plan({ goal: GOAL }, bob);
    expect(response.status).toBe(503);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("planner_unavailable");
    expect(error.message).toContain("no language model is available");
    expect(llm.chats()).toHaveLength(0);
    // A model no service the caller may use serves: the same answer.
    const named = await plan({ goal: GOAL, model: "no-such-model" });
    expect(named.status).toBe(503);
    expect(((await named.json()) as { error: { code: string; message: string } }).error.message).toContain("no-such-model");
  });

  it("plans a task created without a plan, which kCore then runs (here: a chat step through the gateway)", async () => {
    const runner = await mintToken(server, ["tasks:run", "agents:read"], "alice");
    const steps = [{ id: "answer", capability: "llm_chat", input: { model: OPENAI_MODEL, messages: [{ role: "user", content: "hello" }] } }];
    llm.script(JSON.stringify({ steps }), "the step's own answer");
    const created = await server.request("/api/agent/task", { method: "POST", json: { goal: "say hello" }, token: runner });
    expect(created.status, await created.clone().text()).toBe(202);
    const { task } = (await created.json()) as { task: { id: string; planId: string } };
    expect(task.planId).toMatch(/^plan_/);
    const done = await eventually(async () => {
      const { task: read } = (await (await server.request(`/api/agent/task/${task.id}`, { token: runner })).json()) as { task: { state: string; result?: unknown; plan?: { steps: Array<{ id: string }> } } };
      return ["completed", "failed"].includes(read.state) ? read : undefined;
    });
    expect(done.state, JSON.stringify(done)).toBe("completed");
    expect(done.plan?.steps.map((step) => step.id)).toEqual(["answer"]);
    expect(JSON.stringify(done.result)).toContain("the step's own answer");
  });

  it("checks the body and the scope", async () => {
    expect((await plan({ goal: "" })).status).toBe(400);
    expect((await plan({ goal: GOAL, extra: true })).status).toBe(400);
    const reader = await mintToken(server, ["agents:read", "services:read"], "alice");
    expect((await plan({ goal: GOAL }, reader)).status).toBe(403);
  });
});
