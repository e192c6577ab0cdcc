/**
 * The node as an A2A v1.0 agent, driven by the OFFICIAL A2A JavaScript client (@a2a-js/sdk ClientFactory), not by
 * our code: the public agent card, SendMessage (blocking and returnImmediately) + GetTask + ListTasks, streaming to
 * completion with every stored event in order, CancelTask reaching the agent, and a stream dropped mid-task then
 * re-subscribed: the new stream replays every stored event (nothing lost while disconnected, A2A#1635), and
 * `Last-Event-ID` resumes after a given seq. The work is done by small real HTTP agents (node:http) through kCore.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SendMessageRequest, TaskState, type StreamResponse, type Task as A2aTask } from "@a2a-js/sdk";
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory, type Client } from "@a2a-js/sdk/client";
import { klp, signAgentManifest } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { HttpAgent, type Behaviour } from "../kcore/http-agent.js";

let server: TestServer;
let alice: string;
let client: Client;
const agents: HttpAgent[] = [];
/** Steps of `gated_work` wait for this (the test releases them). */
let releaseGate: () => void = () => undefined;
let gate = new Promise<void>((resolve) => (releaseGate = resolve));

async function agent(id: string, capabilities: string[], behaviour: Behaviour, visibility: "public" | "private"): Promise<HttpAgent> {
  const started = await HttpAgent.start(id, behaviour);
  agents.push(started);
  const manifest = signAgentManifest(
    {
      id,
      name: id,
      skills: capabilities.map((capability, index) => ({ id: `s${index}`, name: capability, capability, description: `does ${capability}` })),
      endpoint: { transport: "http", url: started.url },
      limits: { maxConcurrentTasks: 8, stepTimeoutMs: 30_000 },
      visibility,
    },
    klp.generateKeyPair(),
  );
  const response = await server.request("/api/agents", { method: "POST", json: manifest, token: alice });
  expect(response.status, await response.text()).toBe(201);
  return started;
}

/** A user message as the A2A SDK wants it (built from A2A's JSON). */
function message(text: string, data: Record<string, unknown>, kai: Record<string, unknown>, options: { returnImmediately?: boolean; taskId?: string } = {}): SendMessageRequest {
  return SendMessageRequest.fromJSON({
    message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text }, { data }], metadata: { kai }, ...(options.taskId ? { taskId: options.taskId } : {}) },
    ...(options.returnImmediately ? { configuration: { returnImmediately: true } } : {}),
  });
}

function asTask(result: unknown): A2aTask {
  expect(result).toHaveProperty("status");
  return result as A2aTask;
}

function seqOf(response: StreamResponse): number | undefined {
  const payload = response.payload;
  if (payload?.$case !== "statusUpdate") return undefined;
  return (payload.value.metadata as { kai?: { seq?: number } } | undefined)?.kai?.seq;
}

function stateOf(response: StreamResponse): TaskState | undefined {
  const payload = response.payload;
  if (payload?.$case === "task") return payload.value.status?.state;
  if (payload?.$case === "statusUpdate") return payload.value.status?.state;
  return undefined;
}

const twoStepPlan = (goal: string) => ({
  goal,
  steps: [
    { id: "first", capability: "text_upper", input: { text: "one" } },
    { id: "second", capability: "gated_work", dependsOn: ["first"], inputsFrom: { text: { step: "first", path: "text" } } },
  ],
});

beforeAll(async () => {
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  await agent("kExecutor:upper", ["text_upper"], (step) => ({ body: { output: { text: String(step.input.text).toUpperCase() } } }), "public");
  await agent("kExecutor:hidden", ["secret_cap"], () => ({ body: { output: {} } }), "private");
  await agent("kExecutor:slow", ["slow_work"], () => "hang", "private");
  await agent("kExecutor:asker", ["ask_name"], (step) => (step.answer === undefined ? { body: { inputRequired: { prompt: "What is your name?" } } } : { body: { output: { hello: step.answer } } }), "private");
  await agent("kExecutor:gated", ["gated_work"], async (step) => {
    await gate;
    return { body: { output: { done: step.input.text } } };
  }, "private");
  // The official client, from the node's URL: it reads the card and picks its JSON-RPC interface; our token on every call.
  const authed: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${alice}`);
    return fetch(input, { ...init, headers });
  };
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ fetchImpl: authed })] }));
  client = await factory.createFromUrl(server.url);
});
afterAll(async () => {
  releaseGate();
  await server?.dispose();
  for (const started of agents) await started.close();
});

describe("the agent card", () => {
  it("is public and says where and how to talk to the node, with the skills public records offer", async () => {
    const response = await server.request("/.well-known/agent-card.json", { token: null });
    expect(response.status).toBe(200);
    const json = (await response.json()) as { supportedInterfaces: { url: string; protocolBinding: string; protocolVersion: string }[] };
    // JSON-RPC here; the HTTP+JSON binding beside it is a2a-rest.test.ts's.
    expect(json.supportedInterfaces).toEqual([
      { url: `${server.url}/a2a`, protocolBinding: "JSONRPC", protocolVersion: "1.0" },
      { url: `${server.url}/a2a/rest`, protocolBinding: "HTTP+JSON", protocolVersion: "1.0" },
    ]);
    const card = await client.getAgentCard();
    expect(card.capabilities?.streaming).toBe(true);
    expect(card.securitySchemes.bearer?.scheme?.$case).toBe("httpAuthSecurityScheme");
    expect(card.securityRequirements[0]?.schemes.bearer?.list).toEqual(["tasks:run"]);
    const skills = card.skills.map((skill) => skill.id);
    expect(skills).toContain("text_upper");
    expect(card.skills.find((skill) => skill.id === "text_upper")?.description).toBe("does text_upper");
    // A private agent's capability is not shown to the world.
    expect(skills).not.toContain("secret_cap");
    expect(skills).not.toContain("gated_work");
  });

  it("refuses the endpoint without a token, and without tasks:run", async () => {
    const body = { jsonrpc: "2.0", id: 1, method: "GetTask", params: { id: "task_x" } };
    expect((await server.request("/a2a", { method: "POST", json: body, token: null })).status).toBe(401);
    const reader = await mintToken(server, ["agents:read"], "alice");
    expect((await server.request("/a2a", { method: "POST", json: body, token: reader })).status).toBe(403);
  });
});

describe("tasks over A2A", () => {
  it("runs a message as a kCore task (blocking), then GetTask and ListTasks show it", async () => {
    const task = asTask(await client.sendMessage(message("upper-case it", { text: "hello" }, { capability: "text_upper" })));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const result = task.artifacts[0]?.parts[0]?.content;
    expect(result?.$case).toBe("data");
    expect(JSON.stringify(result?.value)).toContain("HELLO");
    const read = await client.getTask({ tenant: "", id: task.id });
    expect(read.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const listed = await client.listTasks({ tenant: "", contextId: "", status: TaskState.TASK_STATE_COMPLETED, pageToken: "", statusTimestampAfter: undefined });
    expect(listed.tasks.map((each) => each.id)).toContain(task.id);
    // Our own API sees the same task.
    expect((await server.request(`/api/agent/task/${task.id}`, { token: alice })).status).toBe(200);
  });

  it("answers at once with returnImmediately, and refuses a message that is not a task", async () => {
    const task = asTask(await client.sendMessage(message("upper-case it", { text: "later" }, { capability: "text_upper" }, { returnImmediately: true })));
    expect([TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING, TaskState.TASK_STATE_COMPLETED]).toContain(task.status?.state);
    await expect(client.sendMessage(message("", {}, { capability: "text_upper" }))).rejects.toThrow(/goal/);
    await expect(client.getTask({ tenant: "", id: "task_nope" })).rejects.toThrow(/not found/i);
  });

  it("streams a task to completion: the Task first, then its stored events in order", async () => {
    const events: StreamResponse[] = [];
    for await (const event of client.sendMessageStream(message("upper-case it", { text: "streamed" }, { capability: "text_upper" }))) events.push(event);
    expect(events[0]?.payload?.$case).toBe("task");
    expect(stateOf(events.at(-1)!)).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(events.some((event) => event.payload?.$case === "artifactUpdate")).toBe(true);
    const seqs = events.map(seqOf).filter((seq): seq is number => seq !== undefined);
    const first = events[0]!.payload!.value as A2aTask;
    const firstSeq = (first.metadata as { kai: { lastSeq: number } }).kai.lastSeq;
    expect(seqs).toEqual(seqs.map((_, index) => firstSeq + 1 + index));
  });

  it("asks a question (input-required) and takes the answer as a message on the same task", async () => {
    const asked = asTask(await client.sendMessage(message("greet me", {}, { capability: "ask_name" })));
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const question = asked.status?.message?.parts.find((part) => part.content?.$case === "text")?.content?.value;
    expect(question).toBe("What is your name?");
    const answered = asTask(await client.sendMessage(message("my answer", { name: "Ada" }, {}, { taskId: asked.id })));
    expect(answered.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(JSON.stringify(answered.artifacts[0]?.parts[0]?.content?.value)).toContain("Ada");
    // A finished task takes no more messages.
    await expect(client.sendMessage(message("again", {}, {}, { taskId: asked.id }))).rejects.toThrow(/only an input-required task/);
  });

  it("cancels a running task: the agent's request is closed, and a finished task cannot be cancelled", async () => {
    const slow = agents.find((each) => each.id === "kExecutor:slow")!;
    const before = slow.received.length;
    const task = asTask(await client.sendMessage(message("wait forever", {}, { capability: "slow_work" }, { returnImmediately: true })));
    await slow.waitForSteps(before + 1);
    const canceled = await client.cancelTask({ tenant: "", id: task.id, metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await slow.waitForAbort(before);
    await expect(client.cancelTask({ tenant: "", id: task.id, metadata: undefined })).rejects.toThrow(/already canceled/);
  });
});

describe("re-subscribing", () => {
  it("loses nothing: a dropped stream's task is re-subscribed and every stored event arrives, then the live ones", async () => {
    const gated = agents.find((each) => each.id === "kExecutor:gated")!;
    const dropped = new AbortController();
    let taskId = "";
    // Read the first event (the Task), then hang up while the task goes on.
    for await (const event of client.sendMessageStream(message("two steps", {}, { plan: twoStepPlan("two steps") }), { signal: dropped.signal })) {
      taskId = (event.payload!.value as A2aTask).id;
      dropped.abort();
      break;
    }
    expect(taskId).not.toBe("");
    // While nobody listens: the first step runs and completes, the second starts (and waits at the gate).
    await gated.waitForSteps(1);
    const seen: StreamResponse[] = [];
    let released = false;
    for await (const event of client.resubscribeTask({ tenant: "", id: taskId })) {
      seen.push(event);
      // Once the replay has shown the second step running, let it finish: the rest arrives live on the same stream.
      const data = event.payload?.$case === "statusUpdate" ? event.payload.value.status?.message?.parts.find((part) => part.content?.$case === "data")?.content?.value : undefined;
      if (!released && (data as { step?: string; stepState?: string } | undefined)?.stepState === "running" && (data as { step?: string }).step === "second") {
        released = true;
        releaseGate();
      }
    }
    expect(seen[0]?.payload?.$case).toBe("task");
    expect(stateOf(seen.at(-1)!)).toBe(TaskState.TASK_STATE_COMPLETED);
    const final = await client.getTask({ tenant: "", id: taskId });
    const lastSeq = (final.metadata as { kai: { lastSeq: number } }).kai.lastSeq;
    // Every stored event of the task, from the first, once each, in order.
    expect(seen.map(seqOf).filter((seq) => seq !== undefined)).toEqual(Array.from({ length: lastSeq }, (_, index) => index + 1));
  });

  it("resumes after the seq a client names (Last-Event-ID: <taskId>:<seq>)", async () => {
    gate = new Promise<void>((resolve) => (releaseGate = resolve));
    const gated = agents.find((each) => each.id === "kExecutor:gated")!;
    const before = gated.received.length;
    const task = asTask(await client.sendMessage(message("two steps again", {}, { plan: twoStepPlan("two steps again") }, { returnImmediately: true })));
    await gated.waitForSteps(before + 1);
    const seen: number[] = [];
    const stream = client.resubscribeTask({ tenant: "", id: task.id }, { serviceParameters: { "Last-Event-ID": `${task.id}:2` } });
    let first = true;
    for await (const event of stream) {
      if (first) releaseGate();
      first = false;
      const seq = seqOf(event);
      if (seq !== undefined) seen.push(seq);
    }
    expect(seen[0]).toBe(3);
    expect(seen).toEqual(seen.map((_, index) => 3 + index));
  });
});
