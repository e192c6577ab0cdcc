/**
 * Run-agents on a node of two instances sharing one real PostgreSQL (started here): a configured run-agent runs
 * once across both (one process, on the leader), and both show the leader's view of it; a stop asked of the other
 * instance stops it (and a start there starts it again); adding one over the API is refused on many instances; the
 * leader closing hands it to the other instance, which runs it. The agent is a plain node process that lives until
 * told to stop, marked by an argument so the test counts its processes on the machine.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AgentRunListResponseSchema, AgentRunStateSchema, ClusterResponseSchema, type AgentRunState } from "@kai/protocol";
import { eventually, type TestServer } from "../../helpers/test-server.js";
import { startPostgres } from "../../helpers/postgres-server.js";
import { startInstances, type Instances } from "../../cluster/support/instances.js";

const ID = "kExecutor:solo";
const MARK = `kai-run-agent-${randomUUID()}`;
/** Lives until SIGTERM; exits 0 then. */
const SCRIPT = "process.on('SIGTERM', () => process.exit(0)); setInterval(() => undefined, 1000);";

const postgres = await startPostgres();
let instances: Instances | undefined;
/** The leader when the test starts, and the other instance. */
let a: TestServer;
let b: TestServer;

beforeAll(async () => {
  if (!postgres) return;
  instances = await startInstances(postgres, {
    database: "run_agents_cluster",
    // A gone leader is noticed within a second; signals are read every 100 ms at worst.
    cluster: { heartbeatMs: 200, memberTimeoutMs: 1_000, pollIntervalMs: 100 },
    config: {
      rateLimit: { enabled: false },
      agents: { run: [{ id: ID, command: process.execPath, args: ["-e", SCRIPT, MARK], backoffMs: 50, stopGraceMs: 3_000 }] },
    },
  });
  const [first, second] = instances.servers as [TestServer, TestServer];
  const leader = (await eventually(async () => ClusterResponseSchema.parse(await (await first.request("/api/cluster")).json()).leader)).instanceId;
  [a, b] = leader === (await instanceId(first)) ? [first, second] : [second, first];
}, 60_000);

afterAll(async () => {
  await instances?.dispose();
  await postgres?.stop();
});

/** The pids of this file's run-agent processes on the machine. */
function processes(): number[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out.split("\n").filter((line) => line.includes(MARK) && !line.includes("ps -eo")).map((line) => Number.parseInt(line.trim(), 10));
}

async function instanceId(on: TestServer): Promise<string> {
  return ClusterResponseSchema.parse(await (await on.request("/api/cluster")).json()).instance.id;
}

async function runState(on: TestServer): Promise<AgentRunState> {
  const response = await on.request(`/api/agents/${ID}/run`);
  expect(response.status).toBe(200);
  return AgentRunStateSchema.parse(await response.json());
}

async function control(on: TestServer, op: "start" | "stop"): Promise<AgentRunState> {
  const response = await on.request(`/api/agents/${ID}/${op}`, { method: "POST" });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return AgentRunStateSchema.parse(JSON.parse(text));
}

/** Waits until `on` shows the agent running on `instance` with one process on the machine, that process. */
async function runningOn(on: TestServer, instance: string): Promise<AgentRunState> {
  return eventually(async () => {
    const state = await runState(on);
    const pids = processes();
    return state.state === "running" && state.instance === instance && pids.length === 1 && pids[0] === state.pid ? state : undefined;
  }, 10_000);
}

it.skipIf(!postgres)("runs once across both instances, on the leader; both show the leader's view", async () => {
  const leader = await instanceId(a);
  const running = await runningOn(a, leader);
  // The other instance shows the same process, as the leader reported it.
  const seen = await eventually(async () => {
    const state = await runState(b);
    return state.pid === running.pid ? state : undefined;
  });
  expect(seen).toMatchObject({ state: "running", instance: leader });
  const list = AgentRunListResponseSchema.parse(await (await b.request("/api/agents/run")).json());
  expect(list.agents.map((agent) => agent.id)).toEqual([ID]);
  // Still one process: the other instance runs none.
  expect(processes()).toEqual([running.pid]);
});

it.skipIf(!postgres)("a stop asked of the other instance stops it on the leader; a start there starts it again", async () => {
  const leader = await instanceId(a);
  const before = await runningOn(a, leader);
  const stopped = await control(b, "stop");
  expect(stopped).toMatchObject({ id: ID, state: "stopped", pid: null, instance: leader });
  expect(processes()).toEqual([]);
  expect((await runState(a)).state).toBe("stopped");
  const started = await control(b, "start");
  expect(started.state).toBe("running");
  expect(started.pid).not.toBe(before.pid);
  await runningOn(b, leader);
});

it.skipIf(!postgres)("adding a run-agent over the API is refused on many instances (the config is where they live)", async () => {
  const response = await b.request("/api/agents/run", { method: "POST", json: { id: "kExecutor:added", command: process.execPath, args: ["-e", SCRIPT] } });
  expect(response.status).toBe(409);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe("conflict");
});

it.skipIf(!postgres)("the leader closing hands the run-agent to the other instance, which runs it", async () => {
  const first = await runningOn(a, await instanceId(a));
  const successor = await instanceId(b);
  await a.dispose();
  const taken = await runningOn(b, successor);
  expect(taken.pid).not.toBe(first.pid);
}, 20_000);
