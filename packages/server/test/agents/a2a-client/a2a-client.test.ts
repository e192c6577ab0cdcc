/**
 * External A2A agents through a real node (issue 16): an agent built with the OFFICIAL A2A JS SDK (sdk-agent.ts) is
 * added by URL (`POST /api/agents/a2a`), its card's skills become capabilities, and kCore runs steps on it over A2A:
 * a completed task's artifact is the step's output, a failed one fails the step, input-required becomes the task's
 * question and the answer goes back on the same A2A task, and a cancel reaches the agent (CancelTask). The card is
 * kept fresh: a changed card updates the record, an unreadable one puts the agent offline, and removal ends it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, ServiceRecordSchema, TaskSchema, TERMINAL_TASK_STATES, type CreateTaskRequestInput, type Task } from "@kai/protocol";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { SdkA2aAgent } from "./sdk-agent.js";

let server: TestServer;
let agent: SdkA2aAgent;
let alice: string;
let reader: string;
const ID = "kA2a:test-sdk-agent";

async function create(body: CreateTaskRequestInput): Promise<Task> {
  const response = await server.request("/api/agent/task", { method: "POST", json: body, token: alice });
  const text = await response.text();
  expect(response.status, text).toBe(202);
  return TaskSchema.parse((JSON.parse(text) as { task: unknown }).task);
}

async function settled(id: string, states: readonly string[] = TERMINAL_TASK_STATES): Promise<Task> {
  return eventually(async () => {
    const task = TaskSchema.parse(((await (await server.request(`/api/agent/task/${id}`, { token: alice })).json()) as { task: unknown }).task);
    return states.includes(task.state) ? task : undefined;
  }, 10_000);
}

async function record() {
  return ServiceRecordSchema.parse(await (await server.request(`/api/agents/${ID}`, { token: alice })).json());
}

beforeAll(async () => {
  agent = await SdkA2aAgent.start();
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  reader = await mintToken(server, ["agents:read"], "alice");
});
afterAll(async () => {
  await server?.dispose();
  await agent?.close();
});

describe("adding an A2A agent by URL", () => {
  it("reads the card with the SDK and registers an agent record whose capabilities come from the skills", async () => {
    const response = await server.request("/api/agents/a2a", { method: "POST", json: { url: agent.url }, token: alice });
    expect(response.status, await response.clone().text()).toBe(201);
    const added = ServiceRecordSchema.parse(await response.json());
    expect(added).toMatchObject({ id: ID, type: "agent", owner: "alice", url: `${agent.url}/a2a`, status: "active" });
    expect(added.capabilities).toEqual(expect.arrayContaining(["echo", "book_trip", "demo_tag"]));
    expect(added.metadata.agent).toMatchObject({ transport: "a2a", source: "a2a" });
    expect(added.metadata.a2a).toMatchObject({ cardUrl: `${agent.url}/.well-known/agent-card.json`, protocolBinding: "JSONRPC", streaming: true });
    // Added again (the card's own URL this time): the same record, 200.
    const again = await server.request("/api/agents/a2a", { method: "POST", json: { url: `${agent.url}/.well-known/agent-card.json` }, token: alice });
    expect(again.status).toBe(200);
    const status = (await (await server.request("/api/agent/status", { token: alice })).json()) as { agents: Array<{ id: string; transport: string; source: string }> };
    expect(status.agents.find((entry) => entry.id === ID)).toMatchObject({ transport: "a2a", source: "a2a" });
  });

  it("refuses what is not an agent card, and a caller without agents:write", async () => {
    const missing = await server.request("/api/agents/a2a", { method: "POST", json: { url: `${agent.url}/nothing-here/` }, token: alice });
    expect(missing.status).toBe(502);
    expect(ErrorBodySchema.parse(await missing.json()).error.code).toBe("agent_card_unreadable");
    expect((await server.request("/api/agents/a2a", { method: "POST", json: { url: agent.url }, token: reader })).status).toBe(403);
    expect((await server.request("/api/agents/a2a", { method: "POST", json: { url: "ftp://example.org/" }, token: alice })).status).toBe(400);
  });
});

describe("steps on the A2A agent", () => {
  it("runs a step: the input goes as a data part, the artifact comes back as the output", async () => {
    const task = await create({ goal: "echo", capability: "echo", input: { kind: "echo", n: 1 } });
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done)).toBe("completed");
    expect(done.steps[0]!.assignee).toBe(ID);
    expect(done.result).toEqual({ main: { echo: { kind: "echo", n: 1 } } });
  });

  it("fails the step with the agent's message when the A2A task fails", async () => {
    const task = await create({ goal: "nothing", agent: ID, capability: "echo", input: { kind: "unknown" } });
    const done = await settled(task.id);
    expect(done.state).toBe("failed");
    expect(JSON.stringify(done.steps[0]!.error)).toContain("no such thing");
  });

  it("turns input-required into the task's question, and sends the answer on the same A2A task", async () => {
    const task = await create({ goal: "book", capability: "book_trip", input: { kind: "ask" } });
    const waiting = await settled(task.id, ["input-required"]);
    expect(waiting.question).toMatchObject({ prompt: "Which city?" });
    const before = agent.executor.received.length;
    const answered = await server.request(`/api/agent/task/${task.id}/answer`, { method: "POST", json: { answer: "Lisbon" }, token: alice });
    expect(answered.status, await answered.clone().text()).toBe(200);
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done)).toBe("completed");
    expect(done.result).toEqual({ main: { booked: "Lisbon" } });
    // The answer was a message on the A2A task that asked, not a new task.
    const [asked, resumed] = agent.executor.tasks.slice(before - 1);
    expect(resumed).toBe(asked);
    expect(agent.executor.received.at(-1)!.taskId).toBe(asked);
  });

  it("cancels: the node sends CancelTask and the agent sees it", async () => {
    const task = await create({ goal: "slow", capability: "echo", input: { kind: "slow" } });
    await eventually(async () => agent.executor.received.some((message) => JSON.stringify(message.parts).includes("slow")));
    const response = await server.request(`/api/agent/task/${task.id}/cancel`, { method: "POST", token: alice });
    expect(response.status).toBe(200);
    await eventually(async () => agent.executor.canceled.length > 0);
    expect((await settled(task.id)).state).toBe("canceled");
  });
});

describe("an agent that does not stream", () => {
  it("is used through the blocking SendMessage: the completed task's artifact is the output", async () => {
    const blocking = await SdkA2aAgent.start({ name: "Blocking Agent", streaming: false });
    try {
      const added = await server.request("/api/agents/a2a", { method: "POST", json: { url: blocking.url, id: "kA2a:blocking" }, token: alice });
      expect(added.status, await added.clone().text()).toBe(201);
      expect(ServiceRecordSchema.parse(await added.json()).metadata.a2a).toMatchObject({ streaming: false });
      const task = await create({ goal: "echo", agent: "kA2a:blocking", capability: "echo", input: { kind: "echo", n: 2 } });
      const done = await settled(task.id);
      expect(done.state, JSON.stringify(done)).toBe("completed");
      expect(done.result).toEqual({ main: { echo: { kind: "echo", n: 2 } } });
      expect(blocking.executor.received).toHaveLength(1);
    } finally {
      await server.request("/api/agents/kA2a:blocking", { method: "DELETE", token: alice });
      await blocking.close();
    }
  });
});

describe("keeping the card fresh", () => {
  it("updates a changed card, puts an unreadable one offline and back, and stops at removal", async () => {
    agent.skills = [...agent.skills, { id: "translate", name: "Translate", description: "", tags: [], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }];
    await server.mesh.a2a.refreshAll();
    expect((await record()).capabilities).toContain("translate");

    agent.cardAvailable = false;
    await server.mesh.a2a.refreshAll();
    expect((await record()).status).toBe("offline");
    agent.cardAvailable = true;
    await server.mesh.a2a.refreshAll();
    expect((await record()).status).toBe("active");

    expect((await server.request(`/api/agents/${ID}`, { method: "DELETE", token: alice })).status).toBe(204);
    await server.mesh.a2a.refreshAll();
    expect((await server.request(`/api/agents/${ID}`, { token: alice })).status).toBe(404);
  });
});
