/**
 * `kai plan` end to end: the built CLI against a real node whose language model is the fake OpenAI server with
 * scripted answers. The steps print as a table in running order (dependants indented), `--json` gives the node's
 * answer, and the planner's refusals exit with their documented codes (503 → 7; a bad --context is a usage error).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@kai/sdk";
import type { PlanResponse } from "@kai/protocol";
import { runKai, sandbox, startTestServer, type Sandbox, type TestServer } from "./helpers.js";
import { OPENAI_MODEL } from "../../server/test/gateway/fakes/openai-fake.js";
import { startScriptedOpenAI, type ScriptedOpenAI } from "../../server/test/agents/planner/scripted-openai.js";

let server: TestServer;
let box: Sandbox;
let llm: ScriptedOpenAI;
let alice: string;
let bob: string;

const kai = (args: string[], token = alice) => runKai(["--url", server.url, ...args], { cwd: box.dir, env: { ...box.env, KAI_TOKEN: token } });

const PLAN = {
  steps: [
    { id: "draft", capability: "llm_chat", description: "write a draft", input: { prompt: "a haiku" } },
    { id: "polish", capability: "llm_chat", dependsOn: ["draft"], inputsFrom: { text: { step: "draft", path: "choices" } } },
  ],
};

beforeAll(async () => {
  llm = await startScriptedOpenAI();
  server = await startTestServer({ rateLimit: { enabled: false } });
  box = sandbox();
  const admin = createClient({ url: server.url, token: server.adminToken });
  await admin.services.register({ id: "llm", name: "LLM", type: "service", provider: "openai", capabilities: ["llm_chat"], url: llm.fake.url, owner: "alice", visibility: "private", metadata: { models: [OPENAI_MODEL] } });
  alice = (await admin.tokens.create({ scopes: ["tasks:run"], owner: "alice", ttl: "1h" })).token;
  bob = (await admin.tokens.create({ scopes: ["tasks:run"], owner: "bob", ttl: "1h" })).token;
});
afterAll(async () => {
  await server?.close();
  await llm?.fake.close();
  box?.cleanup();
});

describe("kai plan", () => {
  it("prints the steps in running order, dependants under what they wait for", async () => {
    llm.script(JSON.stringify(PLAN));
    const result = await kai(["plan", "write", "a", "haiku", "--context", '{"tone":"calm"}']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^STEP\s+CAPABILITY\s+AGENT\s+AFTER\s+INPUTS\s+DESCRIPTION$/);
    expect(lines[1]).toMatch(/^draft\s+llm_chat\s+-\s+-\s+-\s+write a draft$/);
    expect(lines[2]).toMatch(/^ {2}└ polish\s+llm_chat\s+-\s+draft\s+text←draft\.choices\s+-$/);
    expect(result.stderr).toMatch(/plan plan_\S+ for "write a haiku" by gpt-fake \(1 attempt\)/);
    const sent = llm.chats()[0]?.body as { messages: Array<{ content: string }> };
    expect(sent.messages[1]?.content).toContain('{"tone":"calm"}');
  });

  it("answers the node's plan as JSON with --json", async () => {
    llm.script("not yet", JSON.stringify(PLAN));
    const result = await kai(["plan", "write a haiku", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const body = JSON.parse(result.stdout) as PlanResponse;
    expect(body).toMatchObject({ attempts: 2, model: OPENAI_MODEL, plan: { goal: "write a haiku" } });
    expect(body.plan.steps.map((step) => step.id)).toEqual(["draft", "polish"]);
  });

  it("exits 7 with planner_unavailable when the token may use no model, and 2 for a --context that is not JSON", async () => {
    const none = await kai(["plan", "write a haiku"], bob);
    expect(none.code).toBe(7);
    expect(none.stderr).toContain("(planner_unavailable)");
    const bad = await kai(["plan", "write a haiku", "--context", "{tone"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--context is not valid JSON");
  });
});
