/**
 * The node's A2A v1.0 HTTP+JSON (REST) binding (`/a2a/rest/...`), driven by the OFFICIAL A2A JavaScript client
 * (@a2a-js/sdk ClientFactory with its RestTransportFactory only, so it must pick the card's HTTP+JSON interface):
 * SendMessage, SendStreamingMessage (SSE), GetTask, ListTasks, CancelTask, SubscribeToTask after a dropped stream
 * (nothing lost) and with Last-Event-ID, push notification config create/get/list/delete with deliveries reaching a
 * real receiver; a task made over REST is the same task over JSON-RPC (one request handler). Then raw HTTP: the
 * spec's AIP-193 error bodies and statuses (unknown task 404 TASK_NOT_FOUND, malformed bodies 400, a missing
 * A2A-Version 400), 401/403 before the binding, and hostile input answered 4xx, never a 5xx or a stack trace.
 * The work is done by small real HTTP agents (node:http) through kCore.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SendMessageRequest, TaskState, type StreamResponse, type Task as A2aTask, type TaskPushNotificationConfig } from "@a2a-js/sdk";
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory, RestTransportFactory, type Client } from "@a2a-js/sdk/client";
import { A2aRestErrorBodySchema, ErrorBodySchema, klp, signAgentManifest } from "@kai/protocol";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { HttpAgent, type Behaviour } from "../kcore/http-agent.js";
import { PushReceiver } from "../a2a-push/push-receiver.js";

let server: TestServer;
let alice: string;
let rest: Client;
let jsonRpc: Client;
let receiver: PushReceiver;
const agents: HttpAgent[] = [];
/** Every URL the REST client fetched (it must only ever speak to /a2a/rest). */
const fetched: string[] = [];
/** Steps of `gated_work` wait for their task's gate (the test opens it). */
const gates = new Map<string, { open: () => void; opened: Promise<void> }>();

function gateOf(taskId: string) {
  let gate = gates.get(taskId);
  if (!gate) {
    let open: () => void = () => undefined;
    const opened = new Promise<void>((resolve) => (open = resolve));
    gate = { open, opened };
    gates.set(taskId, gate);
  }
  return gate;
}

async function agent(id: string, capability: string, behaviour: Behaviour): Promise<HttpAgent> {
  const started = await HttpAgent.start(id, behaviour);
  agents.push(started);
  const manifest = signAgentManifest(
    { id, name: id, skills: [{ id: "s0", name: capability, capability, description: `does ${capability}` }], endpoint: { transport: "http", url: started.url }, limits: { maxConcurrentTasks: 8, stepTimeoutMs: 30_000 }, visibility: "private" },
    klp.generateKeyPair(),
  );
  const response = await server.request("/api/agents", { method: "POST", json: manifest, token: alice });
  expect(response.status, await response.text()).toBe(201);
  return started;
}

function authedFetch(token: string, record?: string[]): typeof fetch {
  return (input, init) => {
    record?.push(String(input instanceof Request ? input.url : input));
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
}

function message(text: string, data: Record<string, unknown>, kai: Record<string, unknown>, options: { returnImmediately?: boolean } = {}): SendMessageRequest {
  return SendMessageRequest.fromJSON({
    message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text }, { data }], metadata: { kai } },
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

/** A two-step task, returned once its second step waits at its gate (running, a few events stored). */
async function gatedTask(goal: string): Promise<A2aTask> {
  const task = asTask(await rest.sendMessage(message(goal, {}, { plan: twoStepPlan(goal) }, { returnImmediately: true })));
  const gated = agents.find((each) => each.id === "kExecutor:gated")!;
  await eventually(async () => gated.received.some((step) => step.body.taskId === task.id));
  return task;
}

/** A raw call to the REST binding (A2A-Version 1.0 unless told otherwise). */
function call(path: string, init: { method?: string; json?: unknown; body?: string; token?: string | null; version?: string | null; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.version !== null) headers["a2a-version"] = init.version ?? "1.0";
  if (init.body !== undefined) headers["content-type"] ??= "application/json";
  return server.request(`/a2a/rest${path}`, {
    method: init.method ?? "GET",
    headers,
    token: init.token === undefined ? alice : init.token,
    ...(init.json !== undefined ? { json: init.json } : {}),
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
}

/** The answer is A2A's AIP-193 error with this status and ErrorInfo reason. */
async function expectA2aError(response: Response, status: number, reason: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(text, text).toContain(reason);
  const body = A2aRestErrorBodySchema.parse(JSON.parse(text));
  expect(body.error.code).toBe(status);
  expect(body.error.details[0]).toMatchObject({ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain: "a2a-protocol.org" });
  expect(text).not.toMatch(/\n\s+at /);
}

beforeAll(async () => {
  receiver = await PushReceiver.start();
  server = await startTestServer({ config: { rateLimit: { enabled: false }, agents: { a2a: { push: { allowPrivate: true, backoffMs: 10, attempts: 5, timeoutMs: 2000 } } } } });
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  await agent("kExecutor:upper", "text_upper", (step) => ({ body: { output: { text: String(step.input.text).toUpperCase() } } }));
  await agent("kExecutor:slow", "slow_work", () => "hang");
  await agent("kExecutor:gated", "gated_work", async (step) => {
    await gateOf(step.taskId).opened;
    return { body: { output: { done: step.input.text } } };
  });
  // Only the REST transport: the client must find the card's HTTP+JSON interface (the default options add JSON-RPC).
  rest = await new ClientFactory({ transports: [new RestTransportFactory({ fetchImpl: authedFetch(alice, fetched) })] }).createFromUrl(server.url);
  jsonRpc = await new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new JsonRpcTransportFactory({ fetchImpl: authedFetch(alice) })] })).createFromUrl(server.url);
});
afterAll(async () => {
  for (const gate of gates.values()) gate.open();
  await server?.dispose();
  for (const started of agents) await started.close();
  await receiver?.close();
});

describe("the agent card", () => {
  it("advertises the HTTP+JSON interface beside JSON-RPC, and the official REST client talks only to it", async () => {
    const card = (await (await server.request("/.well-known/agent-card.json", { token: null })).json()) as { supportedInterfaces: unknown[] };
    expect(card.supportedInterfaces).toEqual([
      { url: `${server.url}/a2a`, protocolBinding: "JSONRPC", protocolVersion: "1.0" },
      { url: `${server.url}/a2a/rest`, protocolBinding: "HTTP+JSON", protocolVersion: "1.0" },
    ]);
    await rest.getTask({ tenant: "", id: "task_nope" }).catch(() => undefined);
    const calls = fetched.filter((url) => !url.includes("/.well-known/"));
    expect(calls.length).toBeGreaterThan(0);
    for (const url of calls) expect(url.startsWith(`${server.url}/a2a/rest/`), url).toBe(true);
  });
});

describe("tasks over HTTP+JSON with the official client", () => {
  it("sends a message (blocking): a completed task; GetTask and ListTasks show it, and JSON-RPC sees the same task", async () => {
    const task = asTask(await rest.sendMessage(message("upper-case it", { text: "hello" }, { capability: "text_upper" })));
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(JSON.stringify(task.artifacts[0]?.parts[0]?.content?.value)).toContain("HELLO");
    const read = await rest.getTask({ tenant: "", id: task.id });
    expect(read.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const listed = await rest.listTasks({ tenant: "", contextId: "", status: TaskState.TASK_STATE_COMPLETED, pageToken: "", statusTimestampAfter: undefined, pageSize: 10 });
    expect(listed.tasks.map((each) => each.id)).toContain(task.id);
    // One request handler behind both bindings: the same task, the same answer.
    expect(await jsonRpc.getTask({ tenant: "", id: task.id })).toEqual(read);
  });

  it("answers at once with returnImmediately; refuses a message that is not a task, and an unknown task, as A2A errors", async () => {
    const task = asTask(await rest.sendMessage(message("upper-case it", { text: "later" }, { capability: "text_upper" }, { returnImmediately: true })));
    expect([TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING, TaskState.TASK_STATE_COMPLETED]).toContain(task.status?.state);
    await expect(rest.sendMessage(message("", {}, { capability: "text_upper" }))).rejects.toThrow(/goal/);
    await expect(rest.getTask({ tenant: "", id: "task_nope" })).rejects.toMatchObject({ name: "TaskNotFoundError" });
  });

  it("streams a task to completion over SSE: the Task first, then its stored events in order", async () => {
    const events: StreamResponse[] = [];
    for await (const event of rest.sendMessageStream(message("upper-case it", { text: "streamed" }, { capability: "text_upper" }))) events.push(event);
    expect(events[0]?.payload?.$case).toBe("task");
    expect(stateOf(events.at(-1)!)).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(events.some((event) => event.payload?.$case === "artifactUpdate")).toBe(true);
    const seqs = events.map(seqOf).filter((seq): seq is number => seq !== undefined);
    const firstSeq = ((events[0]!.payload!.value as A2aTask).metadata as { kai: { lastSeq: number } }).kai.lastSeq;
    expect(seqs).toEqual(seqs.map((_, index) => firstSeq + 1 + index));
  });

  it("cancels a running task (the agent's request is closed); a finished task is not cancelable", async () => {
    const slow = agents.find((each) => each.id === "kExecutor:slow")!;
    const before = slow.received.length;
    const task = asTask(await rest.sendMessage(message("wait forever", {}, { capability: "slow_work" }, { returnImmediately: true })));
    await slow.waitForSteps(before + 1);
    const canceled = await rest.cancelTask({ tenant: "", id: task.id, metadata: undefined });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await slow.waitForAbort(before);
    await expect(rest.cancelTask({ tenant: "", id: task.id, metadata: undefined })).rejects.toMatchObject({ name: "TaskNotCancelableError" });
  });

  it("re-subscribes after a dropped stream and loses nothing; Last-Event-ID resumes after a seq", async () => {
    const dropped = new AbortController();
    let taskId = "";
    for await (const event of rest.sendMessageStream(message("two steps", {}, { plan: twoStepPlan("two steps") }), { signal: dropped.signal })) {
      taskId = (event.payload!.value as A2aTask).id;
      dropped.abort();
      break;
    }
    expect(taskId).not.toBe("");
    const gated = agents.find((each) => each.id === "kExecutor:gated")!;
    await eventually(async () => gated.received.some((step) => step.body.taskId === taskId));
    const seen: StreamResponse[] = [];
    for await (const event of rest.resubscribeTask({ tenant: "", id: taskId })) {
      seen.push(event);
      if (seen.length === 1) gateOf(taskId).open();
    }
    expect(seen[0]?.payload?.$case).toBe("task");
    expect(stateOf(seen.at(-1)!)).toBe(TaskState.TASK_STATE_COMPLETED);
    const lastSeq = ((await rest.getTask({ tenant: "", id: taskId })).metadata as { kai: { lastSeq: number } }).kai.lastSeq;
    expect(seen.map(seqOf).filter((seq) => seq !== undefined)).toEqual(Array.from({ length: lastSeq }, (_, index) => index + 1));

    const task = await gatedTask("two steps again");
    const resumed: number[] = [];
    for await (const event of rest.resubscribeTask({ tenant: "", id: task.id }, { serviceParameters: { "Last-Event-ID": `${task.id}:2` } })) {
      if (resumed.length === 0 && event.payload?.$case === "task") gateOf(task.id).open();
      const seq = seqOf(event);
      if (seq !== undefined) resumed.push(seq);
    }
    expect(resumed[0]).toBe(3);
    expect(resumed).toEqual(resumed.map((_, index) => 3 + index));
    // A finished task is read, not subscribed to (UnsupportedOperationError before any event).
    await expect(async () => {
      for await (const event of rest.resubscribeTask({ tenant: "", id: task.id })) void event;
    }).rejects.toMatchObject({ name: "UnsupportedOperationError" });
  });

  it("creates, reads, lists and deletes push notification configs; the receiver gets the task's later events", async () => {
    const task = await gatedTask("pushed");
    const config = { tenant: "", id: "hook-rest", taskId: task.id, url: `${receiver.url}/hook-rest`, token: "", authentication: { scheme: "Bearer", credentials: "rest-push-secret" } } as TaskPushNotificationConfig;
    const made = await rest.createTaskPushNotificationConfig(config);
    expect(made).toMatchObject({ id: "hook-rest", taskId: task.id, url: `${receiver.url}/hook-rest`, authentication: { scheme: "Bearer", credentials: "" } });
    expect(await rest.getTaskPushNotificationConfig({ tenant: "", taskId: task.id, id: "hook-rest" })).toEqual(made);
    expect((await rest.listTaskPushNotificationConfig({ tenant: "", taskId: task.id, pageSize: 0, pageToken: "" })).configs).toEqual([made]);
    const second = await rest.createTaskPushNotificationConfig({ ...config, id: "hook-gone", url: `${receiver.url}/hook-gone` });
    await rest.deleteTaskPushNotificationConfig({ tenant: "", taskId: task.id, id: second.id });
    expect((await rest.listTaskPushNotificationConfig({ tenant: "", taskId: task.id, pageSize: 0, pageToken: "" })).configs.map((each) => each.id)).toEqual(["hook-rest"]);
    await expect(rest.getTaskPushNotificationConfig({ tenant: "", taskId: task.id, id: "hook-gone" })).rejects.toMatchObject({ name: "TaskNotFoundError" });
    gateOf(task.id).open();
    await eventually(async () => receiver.at("/hook-rest").some((push) => push.body.payload?.$case === "statusUpdate" && push.body.payload.value.status?.state === TaskState.TASK_STATE_COMPLETED));
    expect(receiver.at("/hook-rest")[0]?.authorization).toBe("Bearer rest-push-secret");
    expect(receiver.at("/hook-gone")).toEqual([]);
  });
});

describe("raw HTTP: the spec's errors and statuses", () => {
  it("an unknown task is 404 TASK_NOT_FOUND on every task path", async () => {
    await expectA2aError(await call("/tasks/task_nope"), 404, "TASK_NOT_FOUND");
    await expectA2aError(await call("/tasks/task_nope:cancel", { method: "POST" }), 404, "TASK_NOT_FOUND");
    await expectA2aError(await call("/tasks/task_nope:subscribe", { method: "POST" }), 404, "TASK_NOT_FOUND");
    await expectA2aError(await call("/tasks/task_nope:subscribe"), 404, "TASK_NOT_FOUND");
    await expectA2aError(await call("/tasks/task_nope/pushNotificationConfigs"), 404, "TASK_NOT_FOUND");
    await expectA2aError(await call("/tasks/task_nope/pushNotificationConfigs/x"), 404, "TASK_NOT_FOUND");
    await expectA2aError(await call("/tasks/task_nope/pushNotificationConfigs/x", { method: "DELETE" }), 404, "TASK_NOT_FOUND");
    await expectA2aError(await call("/tasks/task_nope/pushNotificationConfigs", { method: "POST", json: { url: `${receiver.url}/x` } }), 404, "TASK_NOT_FOUND");
  });

  it("a malformed body is 400: not JSON (the node's invalid_json), not a SendMessageRequest (A2A's INVALID_PARAMS)", async () => {
    const notJson = await call("/message:send", { method: "POST", body: "{not json" });
    expect(notJson.status).toBe(400);
    expect(ErrorBodySchema.parse(await notJson.json()).error.code).toBe("invalid_json");
    await expectA2aError(await call("/message:send", { method: "POST", json: {} }), 400, "INVALID_PARAMS");
    await expectA2aError(await call("/message:send", { method: "POST", json: { message: { role: "ROLE_USER", parts: [{ text: "no id" }] } } }), 400, "INVALID_PARAMS");
    await expectA2aError(await call("/message:send", { method: "POST", json: { message: { messageId: "m-null", parts: [null] } } }), 400, "INVALID_PARAMS");
    await expectA2aError(await call("/message:stream", { method: "POST", json: { message: { messageId: "m-null", parts: [null] } } }), 400, "INVALID_PARAMS");
    await expectA2aError(await call("/message:send", { method: "POST", json: { message: { messageId: { toString: "x" }, parts: [] } } }), 400, "INVALID_PARAMS");
    await expectA2aError(await call("/message:send", { method: "POST", json: { message: { messageId: randomUUID(), role: "ROLE_AGENT", parts: [{ text: "hi" }] } } }), 400, "INVALID_PARAMS");
  });

  it("takes A2A's own media type, application/a2a+json, as JSON; other types are 415", async () => {
    const body = JSON.stringify({ message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "upper-case it" }, { data: { text: "typed" } }], metadata: { kai: { capability: "text_upper" } } } });
    const typed = await call("/message:send", { method: "POST", body, headers: { "content-type": "application/a2a+json; charset=utf-8" } });
    expect(typed.status, await typed.clone().text()).toBe(200);
    expect(((await typed.json()) as { task: { status: { state: string } } }).task.status.state).toBe("TASK_STATE_COMPLETED");
    // Not JSON: the node's invalid_json, as for application/json.
    const broken = await call("/message:send", { method: "POST", body: "{broken", headers: { "content-type": "application/a2a+json" } });
    expect(broken.status).toBe(400);
    expect(ErrorBodySchema.parse(await broken.json()).error.code).toBe("invalid_json");
    const xml = await call("/message:send", { method: "POST", body, headers: { "content-type": "application/xml" } });
    expect(xml.status).toBe(415);
  });

  it("without A2A-Version: 1.0 it is VERSION_NOT_SUPPORTED (400); an unknown custom method is UNSUPPORTED_OPERATION (400)", async () => {
    await expectA2aError(await call("/tasks/task_nope", { version: null }), 400, "VERSION_NOT_SUPPORTED");
    await expectA2aError(await call("/tasks/task_nope", { version: "0.3" }), 400, "VERSION_NOT_SUPPORTED");
    await expectA2aError(await call("/tasks/task_nope:explode", { method: "POST" }), 400, "UNSUPPORTED_OPERATION");
    await expectA2aError(await call("/tasks/task_nope", { method: "POST" }), 400, "UNSUPPORTED_OPERATION");
    await expectA2aError(await call("/tasks/task_nope:cancel"), 400, "UNSUPPORTED_OPERATION");
    await expectA2aError(await call("/extendedAgentCard"), 400, "EXTENDED_AGENT_CARD_NOT_CONFIGURED");
  });

  it("401 without a token, 403 without tasks:run, in the node's error body (before the binding)", async () => {
    for (const [method, path] of [["POST", "/message:send"], ["GET", "/tasks/task_nope"], ["GET", "/tasks"], ["POST", "/tasks/task_nope:cancel"]] as const) {
      const anonymous = await call(path, { method, token: null, ...(method === "POST" ? { json: {} } : {}) });
      expect(anonymous.status, `${method} ${path}`).toBe(401);
      expect(ErrorBodySchema.parse(await anonymous.json()).error.code).toBe("unauthorized");
    }
    const reader = await mintToken(server, ["agents:read"], "alice");
    const forbidden = await call("/tasks", { token: reader });
    expect(forbidden.status).toBe(403);
    expect(ErrorBodySchema.parse(await forbidden.json()).error.code).toBe("forbidden");
  });

  it("another caller's task is not found; the SSE frames carry id: <taskId>:<seq> and bare StreamResponses", async () => {
    const task = asTask(await rest.sendMessage(message("upper-case it", { text: "mine" }, { capability: "text_upper" })));
    const bob = await mintToken(server, ["tasks:run"], "bob");
    await expectA2aError(await call(`/tasks/${task.id}`, { token: bob }), 404, "TASK_NOT_FOUND");
    const streamed = await call("/message:stream", { method: "POST", json: { message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "upper-case it" }, { data: { text: "raw" } }], metadata: { kai: { capability: "text_upper" } } } } });
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await streamed.text();
    const frames = text.split("\n\n").filter((frame) => frame.includes("data: "));
    expect(JSON.parse(frames[0]!.slice(frames[0]!.indexOf("data: ") + 6))).toHaveProperty("task");
    expect(frames.slice(1).every((frame) => /^id: task_[^:\n]+:\d+\n/m.test(frame))).toBe(true);
    expect(text).not.toContain("jsonrpc");
  });

  it("hostile input is a 4xx with no stack trace, never a 5xx", async () => {
    const hostile: [string, string, unknown?][] = [
      ["GET", "/tasks?pageSize=0"],
      ["GET", "/tasks?pageSize=1000"],
      ["GET", "/tasks?pageSize=abc"],
      ["GET", "/tasks?status=TASK_STATE_EXPLODED"],
      ["GET", "/tasks?tenant=other"],
      ["GET", "/tasks/task_nope?historyLength=-1"],
      ["GET", `/tasks/${"x".repeat(400)}`],
      ["GET", "/tasks/..%2F..%2Fapi%2Ftokens"],
      ["GET", "/tasks/%00:subscribe"],
      ["POST", "/message:send", []],
      ["POST", "/message:send", "a string"],
      ["POST", "/message:send", { message: "not an object" }],
      ["POST", "/message:send", { message: { messageId: "m", parts: "not a list" } }],
      ["POST", "/message:send", { message: { messageId: "m", parts: [{ raw: "!!not base64" }] } }],
      ["POST", "/message:send", { message: { messageId: "m", role: "ROLE_USER", parts: [{ text: "x" }], taskId: "task_nope" } }],
      ["POST", "/message:send", { __proto__: { polluted: true }, constructor: { prototype: { polluted: true } }, message: { messageId: "m" } }],
      ["POST", "/message:send", { message: { messageId: "m", role: "ROLE_USER", parts: [{ text: "x" }] }, configuration: { taskPushNotificationConfig: { url: "file:///etc/passwd" } } }],
      ["POST", "/tasks/task_nope/pushNotificationConfigs", { url: { valueOf: 1 } }],
      ["POST", "/tasks/task_nope/pushNotificationConfigs", [null]],
    ];
    for (const [method, path, json] of hostile) {
      const response = await call(path, { method, ...(json !== undefined ? { json } : {}) });
      const text = await response.text();
      expect(response.status, `${method} ${path} → ${response.status} ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `${method} ${path} → ${text.slice(0, 200)}`).toBeLessThan(500);
      expect(text).not.toMatch(/\n\s+at /);
      const parsed = JSON.parse(text) as unknown;
      expect(A2aRestErrorBodySchema.safeParse(parsed).success || ErrorBodySchema.safeParse(parsed).success, text).toBe(true);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await server.request("/healthz", { token: null })).status).toBe(200);
  });
});
