/**
 * A stored prompt used by name in a task (docs/agents/tasks.md "Prompts"), through the real node, over HTTP and the
 * SDK: a text prompt rendered into a KLP agent's step input (`prompt`, beside the caller's input), a chat prompt with a
 * vault reference rendered into an `llm_chat` step's `messages` that reach the provider (the OpenAI fake) while the
 * secret reaches neither the stored task, its events nor a log line; and the refusals at create (no `prompts:read`, a
 * caller who may not read the secret, a missing variable, an unknown prompt, a prompt with a plan) store no task.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, klp, TaskSchema, TERMINAL_TASK_STATES, type CreateTaskRequestInput, type Task } from "@kai/protocol";
import { createClient } from "@kai/sdk";
import { createKlpAgent, type KlpAgent } from "../../../../sdk/src/agent-runtime/index.js";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import type { FakeUpstream } from "../../gateway/fakes/fake-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../../gateway/fakes/openai-fake.js";

const SECRET = "task-prompt-secret-5521";
let server: TestServer;
let fake: FakeUpstream;
let alice: string;
let noVault: string;
let noPrompts: string;
let agent: KlpAgent;
const seen: Array<Record<string, unknown>> = [];

async function create(body: CreateTaskRequestInput, token = alice): Promise<Response> {
  return server.request("/api/agent/task", { method: "POST", json: body, token });
}

async function settled(id: string): Promise<Task> {
  return eventually(async () => {
    const task = TaskSchema.parse(((await (await server.request(`/api/agent/task/${id}`, { token: alice })).json()) as { task: unknown }).task);
    return TERMINAL_TASK_STATES.includes(task.state) ? task : undefined;
  }, 20_000);
}

async function refusal(response: Response, status: number): Promise<string> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return ErrorBodySchema.parse(JSON.parse(text)).error.code;
}

async function taskCount(): Promise<number> {
  return ((await (await server.request("/api/agent/tasks?limit=100", { token: alice })).json()) as { tasks: unknown[] }).tasks.length;
}

beforeAll(async () => {
  fake = await startOpenAIFake();
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  const registered = await server.request("/api/services/register", { method: "POST", json: registration({ id: "llm", provider: "openai", url: fake.url, capabilities: ["llm_chat"], metadata: { models: [OPENAI_MODEL] } }) });
  expect(registered.status, await registered.text()).toBeLessThan(300);
  const base = ["tasks:run", "agents:read", "agents:write", "services:heartbeat"] as const;
  alice = await mintToken(server, [...base, "prompts:read", "prompts:write", "vault:read"], "alice");
  noVault = await mintToken(server, [...base, "prompts:read"], "alice");
  noPrompts = await mintToken(server, [...base], "alice");
  expect((await server.request("/api/vault/secrets/style/house", { method: "PUT", json: { value: SECRET } })).status).toBeLessThan(300);
  const save = (name: string, body: unknown) => server.request(`/api/prompts/${name}`, { method: "PUT", token: alice, json: body });
  expect((await save("brief", { template: "Write a brief about {{topic}} for {{audience}}.", variables: [{ name: "topic" }, { name: "audience", default: "engineers" }] })).status).toBe(201);
  expect((await save("brief", { template: "Write a short brief about {{topic}} for {{audience}}.", variables: [{ name: "topic" }, { name: "audience", default: "engineers" }], labels: ["production"] })).status).toBe(200);
  expect((await save("house", { template: [{ role: "system", content: "House style: {{vault:style/house}}" }, { role: "user", content: "Describe {{product}}" }], variables: [{ name: "product" }] })).status).toBe(201);
  agent = createKlpAgent({
    client: createClient({ url: server.url, token: alice }),
    key: klp.generateKeyPair(),
    manifest: { id: "kWriter:briefs", name: "briefs", skills: [{ id: "brief", name: "brief", capability: "write_brief" }] },
    handlers: {
      write_brief: (input) => {
        seen.push(input);
        return { wrote: String(input.prompt).length };
      },
    },
  });
  await agent.start();
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await server?.dispose();
  await fake?.close();
});

describe("prompts in agent tasks", () => {
  it("renders a text prompt (by label) into a KLP agent's step input, beside the caller's input", async () => {
    const response = await create({ goal: "a brief", agent: "kWriter:briefs", capability: "write_brief", input: { length: 3 }, prompt: { name: "brief", label: "production", variables: { topic: "KLP" } } });
    expect(response.status, await response.clone().text()).toBe(202);
    const task = TaskSchema.parse(((await response.json()) as { task: unknown }).task);
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done.steps)).toBe("completed");
    expect(seen.at(-1)).toEqual({ length: 3, prompt: "Write a short brief about KLP for engineers." });
    // The stored task keeps the caller's input, not the rendered text.
    expect(done.plan?.steps[0]?.input).toEqual({ length: 3 });
    expect(JSON.stringify(done)).not.toContain("Write a short brief");
  });

  it("works through the SDK too (pinned version given)", async () => {
    const client = createClient({ url: server.url, token: alice });
    const task = await client.tasks.create({ goal: "first brief", agent: "kWriter:briefs", capability: "write_brief", prompt: { name: "brief", version: 1, variables: { topic: "memory", audience: "ops" } } });
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done.steps)).toBe("completed");
    expect(seen.at(-1)).toEqual({ prompt: "Write a brief about memory for ops." });
  });

  it("renders a chat prompt with a vault secret into an llm_chat step: the provider gets it, the task and logs do not", async () => {
    const response = await create({ goal: "describe", capability: "llm_chat", input: { model: OPENAI_MODEL }, prompt: { name: "house", variables: { product: "kAI" } } });
    expect(response.status, await response.clone().text()).toBe(202);
    const task = TaskSchema.parse(((await response.json()) as { task: unknown }).task);
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done.steps)).toBe("completed");
    const sent = fake.last("/v1/chat/completions")?.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages).toEqual([
      { role: "system", content: `House style: ${SECRET}` },
      { role: "user", content: "Describe kAI" },
    ]);
    expect(JSON.stringify(done)).not.toContain(SECRET);
    const events = await server.mesh.taskEvents.eventsAfter(task.id, 0, 1000);
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect(server.logs.some((line) => line.includes(SECRET))).toBe(false);
  });

  it("refuses at create what cannot render, and stores no task", async () => {
    const before = await taskCount();
    const step = { goal: "describe", capability: "llm_chat", input: { model: OPENAI_MODEL } };
    expect(await refusal(await create({ ...step, prompt: { name: "house", variables: { product: "kAI" } } }, noVault), 403)).toBe("forbidden");
    expect(await refusal(await create({ ...step, prompt: { name: "house", variables: { product: "kAI" } } }, noPrompts), 403)).toBe("forbidden");
    expect(await refusal(await create({ ...step, prompt: { name: "house", variables: {} } }), 422)).toBe("prompt_variables_invalid");
    expect(await refusal(await create({ ...step, prompt: { name: "no-such-prompt" } }), 404)).toBe("not_found");
    expect(await refusal(await create({ ...step, prompt: { name: "brief", label: "no-such-label", variables: { topic: "x" } } }), 404)).toBe("not_found");
    const plan = { goal: "p", steps: [{ id: "a", capability: "write_brief" }] };
    expect(await refusal(await create({ goal: "p", plan, prompt: { name: "brief", variables: { topic: "x" } } }), 400)).toBe("validation_failed");
    expect(await refusal(await create({ goal: "p", prompt: { name: "brief", variables: { topic: "x" } } }), 400)).toBe("validation_failed");
    expect(await taskCount()).toBe(before);
  });
});
