/**
 * kCore survives `kill -9` of the instance running a task (issue 16 on issue 13's cluster): two instances of one node
 * on one real PostgreSQL, one of them its own process. A two-step task created on that process runs there; its
 * first step completes, its second is at the agent when the process is killed. The other instance notices the
 * member gone, adopts the task and finishes it: the completed step is not run again, the interrupted one is, and the
 * task's event log stays one gapless sequence. What the killed process acknowledged (the task, its first step) is
 * all there.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { TaskSchema, TERMINAL_TASK_STATES, type Task } from "@kai/protocol";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { startPostgres } from "../../helpers/postgres-server.js";
import type { TaskStore } from "../../../src/storage/contracts/task-store.js";
import { HttpAgent } from "./http-agent.js";
import { spawnInstance } from "./__fixtures__/spawn-instance.js";

const postgres = await startPostgres();
const keyDir = mkdtempSync(join(tmpdir(), "kai-keys-"));
let survivor: TestServer | undefined;
let child: ChildProcess | undefined;
let agent: HttpAgent | undefined;
let databaseUrl = "";

/** Both instances' options but the name: one vault (key folder, passphrase), one database, fast member timeouts. */
function instanceOptions(url: string, name: string) {
  return {
    config: {
      storage: { kind: "postgres" as const, postgres: { url, poolSize: 4 } },
      vault: { keyDir, pbkdf2Iterations: 10_000 },
      // A gone instance is noticed within a second; the leader looks for orphans every 100 ms.
      cluster: { instanceName: name, heartbeatMs: 200, memberTimeoutMs: 1_000, pollIntervalMs: 100 },
      rateLimit: { enabled: false },
    },
    env: { KAI_VAULT_PASSPHRASE: "cluster test passphrase" },
  };
}

/** Starts the instance that will be killed, as its own process; resolves with its URL once it serves. */
async function spawnDoomed(url: string): Promise<string> {
  const started = await spawnInstance(instanceOptions(url, "doomed"));
  child = started.child;
  return started.url;
}

beforeAll(async () => {
  if (!postgres) return;
  databaseUrl = await postgres.createDatabase("kcore_kill");
  survivor = await startTestServer(instanceOptions(databaseUrl, "survivor"));
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await survivor?.dispose();
  await agent?.close();
  await postgres?.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

it.skipIf(!postgres)("kill -9 of the instance running a task: the other adopts it; the finished step is not run again", async () => {
  const alice = await mintToken(survivor!, ["tasks:run", "agents:read", "agents:write"], "alice");
  const seen: string[] = [];
  agent = await HttpAgent.start("kExecutor:kill-steps", async (step) => {
    seen.push(step.stepId);
    // Step two's first run is cut by the kill: it never answers.
    if (step.stepId === "two" && seen.filter((id) => id === "two").length === 1) return "hang";
    return { body: { output: { step: step.stepId, run: seen.length } } };
  });
  await agent.register(survivor!, alice, ["kill_steps"]);

  const doomedUrl = await spawnDoomed(databaseUrl);
  const asAlice = (path: string, init: RequestInit = {}) =>
    fetch(doomedUrl + path, { ...init, headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" } });
  const plan = { goal: "two steps", steps: [{ id: "one", capability: "kill_steps" }, { id: "two", capability: "kill_steps", dependsOn: ["one"] }] };
  const created = await asAlice("/api/agent/task", { method: "POST", body: JSON.stringify({ goal: "two steps", plan }) });
  expect(created.status, await created.clone().text()).toBe(202);
  const task = TaskSchema.parse(((await created.json()) as { task: unknown }).task);

  // Step one answered and committed on the doomed process; step two is at the agent.
  await agent.waitForSteps(2);
  const store = survivor!.mesh.taskEvents as TaskStore;
  const runner = (await store.getTask(task.id))?.runner;
  expect(runner).toBeTruthy();
  expect(survivor!.mesh.tasks.isRunning(task.id)).toBe(false);

  child!.kill("SIGKILL");
  await new Promise((resolve) => child!.once("exit", resolve));

  const done = await eventually(async () => {
    const response = await survivor!.request(`/api/agent/task/${task.id}`, { token: alice });
    const current = TaskSchema.parse(((await response.json()) as { task: unknown }).task) as Task;
    return (TERMINAL_TASK_STATES as readonly string[]).includes(current.state) ? current : undefined;
  }, 30_000);
  expect(done.state).toBe("completed");
  expect(done.result).toEqual({ two: { step: "two", run: 3 } });
  expect(seen).toEqual(["one", "two", "two"]);
  const adopter = (await store.getTask(task.id))?.runner;
  expect(adopter).toBeTruthy();
  expect(adopter).not.toBe(runner);
  const events = await survivor!.mesh.taskEvents.eventsAfter(task.id, 0, 1_000);
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(events.filter((event) => event.type === "AGENT_RESULT").map((event) => (event.payload as { step: string }).step)).toEqual(["one", "two"]);
}, 120_000);
