/**
 * A2A push delivery changes hands when its leader dies (issue 16 on issue 13's cluster). Push delivery is a singleton
 * job: only the leading instance sends, so every receiver gets each event once, not once per instance. Here two
 * instances of one node share a real PostgreSQL; the leader is its own process. A task made through the official A2A
 * client on that process, with a push config (sealed credentials), has its first events pushed from there; then the
 * process is killed with SIGKILL. The other instance takes the lead and the task, and pushes the rest: the receiver
 * sees every event of the task in order, nothing missing (an event whose send finished just before the kill may come
 * twice: delivery is at least once), each with the config's Authorization opened by the surviving instance, and the
 * config is deleted after the last event.
 */
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SendMessageRequest, TaskState, type Task as A2aTask } from "@a2a-js/sdk";
import { ClusterResponseSchema } from "@kai/protocol";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { startPostgres } from "../../helpers/postgres-server.js";
import type { HttpAgent} from "../kcore/http-agent.js";
import { type Behaviour } from "../kcore/http-agent.js";
import { PushReceiver, type ReceivedPush } from "./push-receiver.js";
import { spawnInstance } from "../kcore/__fixtures__/spawn-instance.js";
import { a2aClient, registerHttpAgent } from "./a2a-support.js";

const postgres = await startPostgres();
const keyDir = mkdtempSync(join(tmpdir(), "kai-keys-"));
const PUSH = { allowPrivate: true, backoffMs: 10, attempts: 5, timeoutMs: 2000 };
let survivor: TestServer | undefined;
let leader: ChildProcess | undefined;
let receiver: PushReceiver | undefined;
const agents: HttpAgent[] = [];
let databaseUrl = "";
let releaseGate: () => void = () => undefined;
const gate = new Promise<void>((resolve) => (releaseGate = resolve));

/** Both instances' options but the name: one vault, one database, fast member timeouts, private receivers allowed. */
function instanceOptions(url: string, name: string) {
  return {
    config: {
      storage: { kind: "postgres" as const, postgres: { url, poolSize: 4 } },
      vault: { keyDir, pbkdf2Iterations: 10_000 },
      cluster: { instanceName: name, heartbeatMs: 200, memberTimeoutMs: 1_000, pollIntervalMs: 100 },
      rateLimit: { enabled: false },
      agents: { a2a: { push: PUSH } },
    },
    env: { KAI_VAULT_PASSPHRASE: "cluster test passphrase" },
  };
}

/** Starts the instance that will lead and be killed, as its own process; resolves with its URL once it serves. */
async function spawnLeader(url: string): Promise<string> {
  const started = await spawnInstance(instanceOptions(url, "leader"));
  leader = started.child;
  return started.url;
}

async function registerAgent(target: TestServer, token: string, id: string, capability: string, behaviour: Behaviour): Promise<HttpAgent> {
  const started = await registerHttpAgent(target, token, id, capability, behaviour);
  agents.push(started);
  return started;
}

function seqOf(push: ReceivedPush): number | undefined {
  const payload = push.body.payload;
  if (payload?.$case !== "statusUpdate" && payload?.$case !== "artifactUpdate") return undefined;
  return (payload.value.metadata as { kai?: { seq?: number } } | undefined)?.kai?.seq;
}

const isCompleted = (push: ReceivedPush) => push.body.payload?.$case === "statusUpdate" && push.body.payload.value.status?.state === TaskState.TASK_STATE_COMPLETED;

beforeAll(async () => {
  if (!postgres) return;
  receiver = await PushReceiver.start();
  databaseUrl = await postgres.createDatabase("push_leader");
}, 60_000);

afterAll(async () => {
  releaseGate();
  if (leader && leader.exitCode === null && leader.signalCode === null) leader.kill("SIGKILL");
  await survivor?.dispose();
  for (const started of agents) await started.close();
  await receiver?.close();
  await postgres?.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

it.skipIf(!postgres)("kill -9 of the leading instance mid-task: the other takes over delivery; every event arrives, in order", async () => {
  // The process started first on an empty cluster leads; the survivor joins it.
  const leaderUrl = await spawnLeader(databaseUrl);
  survivor = await startTestServer(instanceOptions(databaseUrl, "survivor"));
  const admin = await mintToken(survivor, ["admin"], "ops");
  const cluster = ClusterResponseSchema.parse(await (await survivor.request("/api/cluster", { token: admin })).json());
  expect(cluster.leader?.name, JSON.stringify(cluster.leader)).toBe("leader");

  const alice = await mintToken(survivor, ["tasks:run", "agents:read", "agents:write"], "alice");
  await registerAgent(survivor, alice, "kExecutor:upper", "text_upper", (step) => ({ body: { output: { text: String(step.input.text).toUpperCase() } } }));
  const gated = await registerAgent(survivor, alice, "kExecutor:gated", "gated_work", async (step) => {
    await gate;
    return { body: { output: { done: step.input.text } } };
  });

  const path = "/leader-change";
  const client = await a2aClient(leaderUrl, alice);
  const plan = {
    goal: "two steps",
    steps: [
      { id: "first", capability: "text_upper", input: { text: "one" } },
      { id: "second", capability: "gated_work", dependsOn: ["first"], inputsFrom: { text: { step: "first", path: "text" } } },
    ],
  };
  const result = await client.sendMessage(
    SendMessageRequest.fromJSON({
      message: { messageId: randomUUID(), role: "ROLE_USER", parts: [{ text: "two steps" }], metadata: { kai: { plan } } },
      configuration: {
        returnImmediately: true,
        taskPushNotificationConfig: { id: "leader-change", url: `${receiver!.url}${path}`, authentication: { scheme: "Bearer", credentials: "leader-secret" } },
      },
    }),
  );
  const task = result as A2aTask;
  expect(task.id).toBeTruthy();

  // The first step answered and its events went out from the leader; the second step waits at the gate.
  await eventually(async () => gated.received.some((step) => step.body.taskId === task.id), 15_000);
  await eventually(async () => receiver!.at(path).length >= 2, 15_000);
  const beforeKill = receiver!.at(path).length;

  leader!.kill("SIGKILL");
  await new Promise((resolve) => leader!.once("exit", resolve));
  // The survivor leads once the dead member times out, adopts the task and sends its second step again.
  await eventually(async () => gated.received.filter((step) => step.body.taskId === task.id).length >= 2, 30_000);
  releaseGate();

  await eventually(async () => receiver!.at(path).some(isCompleted), 30_000);
  const pushes = receiver!.at(path);
  expect(pushes.length).toBeGreaterThan(beforeKill);
  // Every event once at least, in order: the distinct positions are 1, 2, 3, … and never go back.
  const seqs = pushes.map(seqOf).filter((seq): seq is number => seq !== undefined);
  const distinct = [...new Set(seqs)];
  expect(distinct).toEqual(distinct.map((_, index) => index + 1));
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  // The pushes after the kill came from the survivor, which opened the sealed credentials with the node's shared key.
  expect(pushes.every((push) => push.authorization === "Bearer leader-secret")).toBe(true);
  expect(pushes.at(-1)!.body.payload?.$case).toBe("statusUpdate");
  expect(isCompleted(pushes.at(-1)!)).toBe(true);

  const survivorClient = await a2aClient(survivor.url, alice);
  await eventually(async () => (await survivorClient.listTaskPushNotificationConfig({ tenant: "", taskId: task.id, pageSize: 0, pageToken: "" })).configs.length === 0, 15_000);
}, 120_000);
