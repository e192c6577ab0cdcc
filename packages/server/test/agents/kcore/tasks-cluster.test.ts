/**
 * kCore on a node of two instances sharing one real PostgreSQL (started here): a task runs on the instance that
 * created it and is cancelled and answered through the other; a runner another instance adopted (it was thought
 * gone) has its next commit refused and halts, and the leader adopts the orphan and finishes it; an instance closed
 * mid-task (without recording anything) has its task adopted and finished by the other, the steps that completed
 * not run again.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { TaskSchema, TERMINAL_TASK_STATES, type Task } from "@kai/protocol";
import { eventually, mintToken, type TestServer } from "../../helpers/test-server.js";
import { startPostgres } from "../../helpers/postgres-server.js";
import { startInstances, type Instances } from "../../cluster/support/instances.js";
import type { TaskStore } from "../../../src/storage/contracts/task-store.js";
import { HttpAgent, type Behaviour } from "./http-agent.js";

const postgres = await startPostgres();
let instances: Instances | undefined;
let a: TestServer;
let b: TestServer;
let alice = "";
const agents: HttpAgent[] = [];

beforeAll(async () => {
  if (!postgres) return;
  instances = await startInstances(postgres, {
    database: "kcore_cluster",
    // A gone instance is noticed within a second; the leader looks for orphans every 100 ms.
    cluster: { heartbeatMs: 200, memberTimeoutMs: 1_000, pollIntervalMs: 100 },
    config: { rateLimit: { enabled: false } },
  });
  [a, b] = instances.servers as [TestServer, TestServer];
  alice = await mintToken(a, ["tasks:run", "agents:read", "agents:write"], "alice");
}, 60_000);

afterAll(async () => {
  await instances?.dispose();
  for (const agent of agents) await agent.close();
  await postgres?.stop();
});

async function agent(id: string, capability: string, behaviour: Behaviour): Promise<HttpAgent> {
  const started = await HttpAgent.start(id, behaviour);
  agents.push(started);
  await started.register(a, alice, [capability]);
  return started;
}

async function create(on: TestServer, body: unknown): Promise<Task> {
  const response = await on.request("/api/agent/task", { method: "POST", json: body, token: alice });
  expect(response.status, await response.clone().text()).toBe(202);
  return TaskSchema.parse(((await response.json()) as { task: unknown }).task);
}

const read = async (on: TestServer, id: string): Promise<Task> => TaskSchema.parse(((await (await on.request(`/api/agent/task/${id}`, { token: alice })).json()) as { task: unknown }).task);
const settled = (on: TestServer, id: string, states: readonly string[] = TERMINAL_TASK_STATES) =>
  eventually(async () => {
    const task = await read(on, id);
    return states.includes(task.state) ? task : undefined;
  }, 15_000);
/** The instance's task store (the mesh's task event log is it). */
const storeOf = (on: TestServer) => on.mesh.taskEvents as TaskStore;
const runnerOf = async (id: string) => (await storeOf(a).getTask(id))?.runner;
/** A gate a step waits on until the test opens it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

it.skipIf(!postgres)("a task created on one instance is cancelled through the other: the runner aborts the agent's request", async () => {
  const stuck = await agent("kExecutor:cl-stuck", "cl_stuck", () => "hang");
  const task = await create(a, { goal: "never ends", capability: "cl_stuck" });
  await stuck.waitForSteps(1);
  const runner = await runnerOf(task.id);
  expect(runner).toBeTruthy();
  const response = await b.request(`/api/agent/task/${task.id}/cancel`, { method: "POST", token: alice });
  expect(response.status).toBe(200);
  const canceled = TaskSchema.parse(((await response.json()) as { task: unknown }).task);
  expect(canceled.state).toBe("canceled");
  // The instance that ran it did the cancel (the agent's request was closed by it), and still is the runner.
  await stuck.waitForAbort(0);
  expect(await runnerOf(task.id)).toBe(runner);
  expect(a.mesh.tasks.isRunning(task.id)).toBe(false);
  expect((await read(a, task.id)).state).toBe("canceled");
});

it.skipIf(!postgres)("a question asked on one instance is answered through the other, once", async () => {
  const asker = await agent("kExecutor:cl-asker", "cl_ask", (step) =>
    step.answer === undefined ? { body: { inputRequired: { prompt: "Which city?" } } } : { body: { output: { booked: step.answer } } },
  );
  const task = await create(a, { goal: "book", capability: "cl_ask" });
  const runner = await runnerOf(task.id);
  await settled(b, task.id, ["input-required"]);
  const answered = await b.request(`/api/agent/task/${task.id}/answer`, { method: "POST", json: { answer: "Lisbon" }, token: alice });
  expect(answered.status, await answered.clone().text()).toBe(200);
  const done = await settled(b, task.id);
  expect(done.state).toBe("completed");
  expect(done.result).toEqual({ main: { booked: "Lisbon" } });
  expect(asker.received.map((step) => step.body.answer)).toEqual([undefined, "Lisbon"]);
  expect(await runnerOf(task.id)).toBe(runner);
  // Not waiting any more: refused on either instance.
  const again = await b.request(`/api/agent/task/${task.id}/answer`, { method: "POST", json: { answer: "Porto" }, token: alice });
  expect(again.status).toBe(409);
});

it.skipIf(!postgres)("a runner whose task was adopted elsewhere has its commit refused and halts; the orphan is adopted and finished", async () => {
  const held = gate();
  let calls = 0;
  const worker = await agent("kExecutor:cl-gated", "cl_gated", async (step) => {
    calls++;
    if (calls === 1) await held.wait;
    return { body: { output: { done: step.stepId, call: calls } } };
  });
  const task = await create(a, { goal: "gated", capability: "cl_gated" });
  await worker.waitForSteps(1);
  const runner = (await runnerOf(task.id))!;
  const before = (await storeOf(a).getTask(task.id))!;
  // Some instance that thought the runner gone took the task (and is itself gone at once: "ghost").
  expect(await storeOf(b).adoptTask(task.id, runner, "ghost")).not.toBeNull();
  // "ghost" is no live member: the leader adopts the task and runs the step again, to the end.
  const done = await settled(a, task.id);
  expect(done.state).toBe("completed");
  expect(done.result).toEqual({ main: { done: "main", call: 2 } });
  const adopter = await runnerOf(task.id);
  expect(adopter).not.toBe("ghost");
  expect(adopter).not.toBe(runner);
  // The zombie's step now answers: its commit is refused, it halts and stores nothing.
  held.open();
  await eventually(async () => a.logs.some((line) => line.includes(task.id) && line.includes("this runner halts")) || undefined, 10_000);
  expect(await read(b, task.id)).toEqual(done);
  const events = await a.mesh.taskEvents.eventsAfter(task.id, before.task.lastSeq, 100);
  expect(events.filter((event) => event.type === "AGENT_RESULT").map((event) => event.payload)).toEqual([{ step: "main", output: { done: "main", call: 2 } }]);
});

it.skipIf(!postgres)("an instance closed mid-task: the other adopts the task and finishes it, completed steps not run again", async () => {
  const held = gate();
  const seen: string[] = [];
  const worker = await agent("kExecutor:cl-steps", "cl_steps", async (step) => {
    seen.push(step.stepId);
    if (step.stepId === "two" && seen.filter((id) => id === "two").length === 1) await held.wait;
    return { body: { output: { step: step.stepId } } };
  });
  const plan = { goal: "two steps", steps: [{ id: "one", capability: "cl_steps" }, { id: "two", capability: "cl_steps", dependsOn: ["one"] }] };
  const task = await create(a, { goal: "two steps", plan });
  await worker.waitForSteps(2);
  expect((await runnerOf(task.id))).toBeTruthy();
  // A stops without recording anything (its runner halts; its membership row goes): B, alone, leads and adopts.
  await a.dispose();
  await worker.waitForAbort(1);
  held.open();
  const done = await settled(b, task.id);
  expect(done.state).toBe("completed");
  expect(done.result).toEqual({ two: { step: "two" } });
  expect(seen).toEqual(["one", "two", "two"]);
  const stored = await storeOf(b).getTask(task.id);
  expect(b.mesh.tasks.isRunning(task.id)).toBe(false);
  expect(stored?.runner).toBeTruthy();
  const events = await b.mesh.taskEvents.eventsAfter(task.id, 0, 1_000);
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
});
