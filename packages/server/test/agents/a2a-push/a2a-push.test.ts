/**
 * A2A push notifications on the node's own A2A endpoint, driven by the OFFICIAL A2A client (@a2a-js/sdk): a config
 * set on a running task (Create/Get/List), every later event of the task POSTed to a real HTTP receiver in order, in
 * the stream-response shape, with the config's Authorization; a config sent with SendMessage gets every event from the
 * first, through a receiver that fails at first (retries); a receiver that hangs slows neither the task nor the other
 * receivers; the config is gone once the task ended; a deleted config
 * gets nothing more; only who may see the task may set configs; the credentials are never handed back nor logged;
 * receivers on loopback/private/link-local addresses are refused unless `agents.a2a.push.allowPrivate` (SSRF);
 * a config and its delivery survive a restart of the node (SQLite and a real PostgreSQL).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SendMessageRequest, TaskState, type Task as A2aTask, type TaskPushNotificationConfig } from "@a2a-js/sdk";
import type { Client } from "@a2a-js/sdk/client";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { startPostgres } from "../../helpers/postgres-server.js";
import type { HttpAgent} from "../kcore/http-agent.js";
import { type Behaviour } from "../kcore/http-agent.js";
import { PushReceiver, type ReceivedPush } from "./push-receiver.js";
import { a2aClient, registerHttpAgent } from "./a2a-support.js";

const PUSH = { allowPrivate: true, backoffMs: 10, attempts: 5, timeoutMs: 2000 };

let server: TestServer;
let alice: string;
let client: Client;
let bobClient: Client;
let receiver: PushReceiver;
const agents: HttpAgent[] = [];
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

async function agent(target: TestServer, token: string, id: string, capability: string, behaviour: Behaviour): Promise<HttpAgent> {
  const started = await registerHttpAgent(target, token, id, capability, behaviour);
  agents.push(started);
  return started;
}

const clientFor = (target: TestServer, token: string): Promise<Client> => a2aClient(target.url, token);

const twoStepPlan = {
  goal: "two steps",
  steps: [
    { id: "first", capability: "text_upper", input: { text: "one" } },
    { id: "second", capability: "gated_work", dependsOn: ["first"], inputsFrom: { text: { step: "first", path: "text" } } },
  ],
};

function send(options: { push?: Partial<TaskPushNotificationConfig> } = {}): SendMessageRequest {
  return SendMessageRequest.fromJSON({
    message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "two steps" }], metadata: { kai: { plan: twoStepPlan } } },
    configuration: { returnImmediately: true, ...(options.push ? { taskPushNotificationConfig: options.push } : {}) },
  });
}

function config(taskId: string, path: string, extra: Record<string, unknown> = {}): TaskPushNotificationConfig {
  return { tenant: "", id: path.slice(1), taskId, url: `${receiver.url}${path}`, token: "", authentication: undefined, ...extra } as TaskPushNotificationConfig;
}

function seqOf(push: ReceivedPush): number | undefined {
  const payload = push.body.payload;
  if (payload?.$case !== "statusUpdate" && payload?.$case !== "artifactUpdate") return undefined;
  return (payload.value.metadata as { kai?: { seq?: number } } | undefined)?.kai?.seq;
}

function stateOf(push: ReceivedPush): TaskState | undefined {
  const payload = push.body.payload;
  return payload?.$case === "statusUpdate" ? payload.value.status?.state : undefined;
}

const completed = (path: string) => async () => receiver.at(path).some((push) => stateOf(push) === TaskState.TASK_STATE_COMPLETED);

async function startTask(options: { push?: Partial<TaskPushNotificationConfig> } = {}, on: Client = client): Promise<A2aTask> {
  const result = await on.sendMessage(send(options));
  expect(result).toHaveProperty("status");
  const task = result as A2aTask;
  const gated = agents.find((each) => each.id === "kExecutor:gated")!;
  // The second step is at the gate: the task is running, with a few events stored.
  await eventually(async () => gated.received.some((step) => step.body.taskId === task.id));
  return task;
}

beforeAll(async () => {
  receiver = await PushReceiver.start();
  server = await startTestServer({ config: { rateLimit: { enabled: false }, agents: { a2a: { push: PUSH } } } });
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  await agent(server, alice, "kExecutor:upper", "text_upper", (step) => ({ body: { output: { text: String(step.input.text).toUpperCase() } } }));
  await agent(server, alice, "kExecutor:gated", "gated_work", async (step) => {
    await gateOf(step.taskId).opened;
    return { body: { output: { done: step.input.text } } };
  });
  client = await clientFor(server, alice);
  bobClient = await clientFor(server, await mintToken(server, ["tasks:run"], "bob"));
});
afterAll(async () => {
  for (const gate of gates.values()) gate.open();
  await server?.dispose();
  for (const started of agents) await started.close();
  await receiver?.close();
});

describe("push notification configs over A2A", () => {
  it("the agent card says the node pushes", async () => {
    expect((await client.getAgentCard()).capabilities?.pushNotifications).toBe(true);
  });

  it("sets a config on a running task; every later event reaches the receiver in order, with its Authorization; then the config is gone", async () => {
    const task = await startTask();
    const lastSeqAtCreate = ((await client.getTask({ tenant: "", id: task.id })).metadata as { kai: { lastSeq: number } }).kai.lastSeq;
    const made = await client.createTaskPushNotificationConfig(config(task.id, "/hook-a", { authentication: { scheme: "Bearer", credentials: "push-secret-a1" } }));
    // The credentials are never handed back (the scheme is).
    expect(made).toMatchObject({ id: "hook-a", taskId: task.id, url: `${receiver.url}/hook-a`, authentication: { scheme: "Bearer", credentials: "" } });
    expect(await client.getTaskPushNotificationConfig({ tenant: "", taskId: task.id, id: "hook-a" })).toEqual(made);
    expect((await client.listTaskPushNotificationConfig({ tenant: "", taskId: task.id, pageSize: 0, pageToken: "" })).configs).toEqual([made]);

    gateOf(task.id).open();
    await eventually(completed("/hook-a"), 15_000);
    const pushes = receiver.at("/hook-a");
    for (const push of pushes) {
      expect(push.authorization).toBe("Bearer push-secret-a1");
      expect(push.contentType).toBe("application/a2a+json");
      expect(push.body.payload?.$case === "statusUpdate" || push.body.payload?.$case === "artifactUpdate" ? push.body.payload.value.taskId : "").toBe(task.id);
    }
    // Only what followed the config, each event once, in order (the result artifact and the completion share the last seq).
    const seqs = pushes.map(seqOf).filter((seq): seq is number => seq !== undefined);
    expect(seqs.length).toBe(pushes.length);
    const distinct = [...new Set(seqs)];
    expect(distinct).toEqual(distinct.map((_, index) => lastSeqAtCreate + 1 + index));
    expect(pushes.at(-2)?.body.payload?.$case).toBe("artifactUpdate");
    expect(stateOf(pushes.at(-1)!)).toBe(TaskState.TASK_STATE_COMPLETED);
    // The task ended: its config was deleted after the last event went out.
    await eventually(async () => (await client.listTaskPushNotificationConfig({ tenant: "", taskId: task.id, pageSize: 0, pageToken: "" })).configs.length === 0);
    // A finished task takes no config.
    await expect(client.createTaskPushNotificationConfig(config(task.id, "/late"))).rejects.toThrow(/completed/);
    // The credentials never reached a log line.
    expect(server.logs.filter((line) => line.includes("push-secret-a1"))).toEqual([]);
  });

  it("a config sent with SendMessage gets every event from the first, through a receiver that fails at first (retried, in order)", async () => {
    receiver.failNext = 2;
    const failuresBefore = receiver.failures;
    const task = await startTask({ push: { id: "from-send", url: `${receiver.url}/hook-send`, token: "legacy-token-1" } });
    gateOf(task.id).open();
    await eventually(completed("/hook-send"), 15_000);
    expect(receiver.failures - failuresBefore).toBe(2);
    const pushes = receiver.at("/hook-send");
    // No authentication: the legacy token header.
    expect(pushes.every((push) => push.token === "legacy-token-1" && push.authorization === undefined)).toBe(true);
    const distinct = [...new Set(pushes.map(seqOf))];
    expect(distinct).toEqual(distinct.map((_, index) => 1 + index));
    const finalTask = await client.getTask({ tenant: "", id: task.id });
    expect(distinct.at(-1)).toBe((finalTask.metadata as { kai: { lastSeq: number } }).kai.lastSeq);
  });

  it("a receiver that never answers slows neither the task nor the task's other receivers", async () => {
    receiver.hangPaths.add("/hook-hung");
    const task = await startTask();
    await client.createTaskPushNotificationConfig(config(task.id, "/hook-hung"));
    await client.createTaskPushNotificationConfig(config(task.id, "/hook-healthy"));
    gateOf(task.id).open();
    await eventually(completed("/hook-healthy"), 15_000);
    expect((await client.getTask({ tenant: "", id: task.id })).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(receiver.hung).toBeGreaterThan(0);
    expect(receiver.at("/hook-hung")).toEqual([]);
  });

  it("a deleted config gets nothing more; getting it is TaskNotFound; deleting again is fine", async () => {
    const task = await startTask();
    await client.createTaskPushNotificationConfig(config(task.id, "/hook-deleted"));
    await client.createTaskPushNotificationConfig(config(task.id, "/hook-kept"));
    await client.deleteTaskPushNotificationConfig({ tenant: "", taskId: task.id, id: "hook-deleted" });
    await client.deleteTaskPushNotificationConfig({ tenant: "", taskId: task.id, id: "hook-deleted" });
    await expect(client.getTaskPushNotificationConfig({ tenant: "", taskId: task.id, id: "hook-deleted" })).rejects.toThrow(/no push config/);
    expect((await client.listTaskPushNotificationConfig({ tenant: "", taskId: task.id, pageSize: 0, pageToken: "" })).configs.map((each) => each.id)).toEqual(["hook-kept"]);
    gateOf(task.id).open();
    await eventually(completed("/hook-kept"), 15_000);
    expect(receiver.at("/hook-deleted")).toEqual([]);
  });

  it("only who may see the task may set, read or delete its configs", async () => {
    const task = await startTask();
    await client.createTaskPushNotificationConfig(config(task.id, "/hook-owner"));
    await expect(bobClient.createTaskPushNotificationConfig(config(task.id, "/hook-bob"))).rejects.toThrow(/not found/i);
    await expect(bobClient.listTaskPushNotificationConfig({ tenant: "", taskId: task.id, pageSize: 0, pageToken: "" })).rejects.toThrow(/not found/i);
    await expect(bobClient.getTaskPushNotificationConfig({ tenant: "", taskId: task.id, id: "hook-owner" })).rejects.toThrow(/not found/i);
    await expect(bobClient.deleteTaskPushNotificationConfig({ tenant: "", taskId: task.id, id: "hook-owner" })).rejects.toThrow(/not found/i);
    expect((await client.listTaskPushNotificationConfig({ tenant: "", taskId: task.id, pageSize: 0, pageToken: "" })).configs.map((each) => each.id)).toEqual(["hook-owner"]);
    gateOf(task.id).open();
    await eventually(completed("/hook-owner"), 15_000);
    expect(receiver.at("/hook-bob")).toEqual([]);
  });

  it("refuses malformed configs: a bad URL, credentials in the URL, a header-breaking secret, an unknown task", async () => {
    const task = await startTask();
    await expect(client.createTaskPushNotificationConfig(config(task.id, "/x", { url: "ftp://hooks.example/x" }))).rejects.toThrow(/http or https/);
    await expect(client.createTaskPushNotificationConfig(config(task.id, "/x", { url: "http://user:pw@hooks.example/x" }))).rejects.toThrow(/must not carry credentials/);
    await expect(client.createTaskPushNotificationConfig(config(task.id, "/x", { authentication: { scheme: "Bearer", credentials: "a\r\nX-Injected: 1" } }))).rejects.toThrow(/credentials/);
    await expect(client.createTaskPushNotificationConfig(config(task.id, "/x", { authentication: { scheme: "Bad Scheme", credentials: "c" } }))).rejects.toThrow(/scheme/);
    await expect(client.createTaskPushNotificationConfig(config("task_nope", "/x"))).rejects.toThrow(/not found/i);
    gateOf(task.id).open();
  });
});

describe("SSRF: receivers inside the node's network", () => {
  let strict: TestServer;
  let strictClient: Client;

  beforeAll(async () => {
    strict = await startTestServer({ config: { rateLimit: { enabled: false } } });
    const token = await mintToken(strict, ["tasks:run", "agents:read", "agents:write"], "alice");
    await agent(strict, token, "kExecutor:hanging", "hang_work", () => "hang");
    strictClient = await clientFor(strict, token);
  });
  afterAll(async () => {
    await strict?.dispose();
  });

  it("refuses loopback, private and link-local receivers (by address or by name) by default, and reaches none of them", async () => {
    const result = await strictClient.sendMessage(SendMessageRequest.fromJSON({
      message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "hang" }], metadata: { kai: { capability: "hang_work" } } },
      configuration: { returnImmediately: true },
    }));
    const task = result as A2aTask;
    const before = receiver.received.length;
    for (const url of [`${receiver.url}/inside`, `http://localhost:${new URL(receiver.url).port}/inside`, "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/hook", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook"]) {
      await expect(strictClient.createTaskPushNotificationConfig({ tenant: "", id: "", taskId: task.id, url, token: "", authentication: undefined }), url).rejects.toThrow(/not public/);
    }
    // Nor with SendMessage: refused before any task is made.
    await expect(strictClient.sendMessage(SendMessageRequest.fromJSON({
      message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "hang" }], metadata: { kai: { capability: "hang_work" } } },
      configuration: { returnImmediately: true, taskPushNotificationConfig: { url: `${receiver.url}/inside` } },
    }))).rejects.toThrow(/not public/);
    expect((await strictClient.listTaskPushNotificationConfig({ tenant: "", taskId: task.id, pageSize: 0, pageToken: "" })).configs).toEqual([]);
    expect(receiver.received.length).toBe(before);
    await strictClient.cancelTask({ tenant: "", id: task.id, metadata: undefined });
  });
});

const postgres = await startPostgres();
afterAll(async () => {
  await postgres?.stop();
});

/** A node on SQLite (its data directory kept) or on PostgreSQL (its database kept), started twice. */
async function restartCase(storage: Record<string, unknown>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "kai-push-restart-"));
  const options = { keepDataDir: dataDir, env: { KAI_VAULT_PASSPHRASE: "a2a push across a restart, a test passphrase" }, config: { rateLimit: { enabled: false }, agents: { a2a: { push: PUSH } }, storage } };
  const path = `/hook-restart-${String(storage.kind)}`;
  let first: TestServer | undefined;
  let second: TestServer | undefined;
  try {
    first = await startTestServer(options);
    const token = await mintToken(first, ["tasks:run", "agents:read", "agents:write"], "carol");
    await agent(first, token, "kExecutor:asker", "ask_name", (step) => (step.answer === undefined ? { body: { inputRequired: { prompt: "Name?" } } } : { body: { output: { hello: step.answer } } }));
    const firstClient = await clientFor(first, token);
    const asked = (await firstClient.sendMessage(SendMessageRequest.fromJSON({
      message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "greet" }], metadata: { kai: { capability: "ask_name" } } },
      configuration: { taskPushNotificationConfig: { id: "survivor", url: `${receiver.url}${path}`, authentication: { scheme: "Bearer", credentials: "restart-secret" } } },
    }))) as A2aTask;
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    await eventually(async () => receiver.at(path).some((push) => stateOf(push) === TaskState.TASK_STATE_INPUT_REQUIRED));
    const beforeRestart = receiver.at(path).length;
    expect(beforeRestart).toBeGreaterThan(0);
    await first.close();
    first = undefined;

    second = await startTestServer(options);
    const secondClient = await clientFor(second, token);
    const listed = await secondClient.listTaskPushNotificationConfig({ tenant: "", taskId: asked.id, pageSize: 0, pageToken: "" });
    expect(listed.configs.map((each) => [each.id, each.authentication?.scheme])).toEqual([["survivor", "Bearer"]]);
    const answered = (await secondClient.sendMessage(SendMessageRequest.fromJSON({
      message: { messageId: randomUUID(), role: "ROLE_USER", taskId: asked.id, parts: [{ data: { name: "Ada" } }] },
    }))) as A2aTask;
    expect(answered.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    await eventually(completed(path), 15_000);
    const pushes = receiver.at(path);
    // Nothing pushed before the restart came again; everything after it came, the sealed credentials opened by the new process.
    const seqs = [...new Set(pushes.map(seqOf))];
    expect(seqs).toEqual(seqs.map((_, index) => 1 + index));
    expect(pushes.slice(beforeRestart).every((push) => push.authorization === "Bearer restart-secret")).toBe(true);
    await eventually(async () => (await secondClient.listTaskPushNotificationConfig({ tenant: "", taskId: asked.id, pageSize: 0, pageToken: "" })).configs.length === 0);
  } finally {
    await first?.close();
    await second?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe("across a restart", () => {
  it("keeps a config and resumes its delivery after the last event pushed (SQLite)", async () => {
    await restartCase({ kind: "sqlite" });
  });

  it.skipIf(!postgres)("keeps a config and resumes its delivery after the last event pushed (PostgreSQL)", async () => {
    await restartCase({ kind: "postgres", postgres: { url: await postgres!.createDatabase("push") } });
  });
});
