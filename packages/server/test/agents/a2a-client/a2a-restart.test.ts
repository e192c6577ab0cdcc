/**
 * A step waiting on an external A2A agent, through a real node (SQLite on its data directory) and a real agent made
 * with the OFFICIAL A2A JS SDK (sdk-agent.ts): the node restarts while the A2A task is in input-required, and the
 * answer given afterwards goes to the SAME remote task (not a new one); a task canceled while such a step waits
 * sends CancelTask to the agent.
 *
 * kCore keeps the dispatcher's handle on the step run and hands it back (StepDispatch.resume, Dispatchers.abandon);
 * the A2A dispatcher's own side is tested in a2a-resume.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskSchema, TERMINAL_TASK_STATES, type Task } from "@kai/protocol";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { SdkA2aAgent } from "./sdk-agent.js";

const dataDir = mkdtempSync(join(tmpdir(), "kai-a2a-restart-"));
const ID = "kA2a:waiting-agent";
let server: TestServer | undefined;
let agent: SdkA2aAgent;
let alice: string;

const start = () => startTestServer({ keepDataDir: dataDir, config: { rateLimit: { enabled: false } } });

async function create(): Promise<Task> {
  const response = await server!.request("/api/agent/task", { method: "POST", json: { goal: "book", agent: ID, capability: "book_trip", input: { kind: "ask" } }, token: alice });
  expect(response.status, await response.clone().text()).toBe(202);
  return TaskSchema.parse(((await response.json()) as { task: unknown }).task);
}

async function reached(id: string, states: readonly string[]): Promise<Task> {
  return eventually(async () => {
    const task = TaskSchema.parse(((await (await server!.request(`/api/agent/task/${id}`, { token: alice })).json()) as { task: unknown }).task);
    return states.includes(task.state) ? task : undefined;
  }, 10_000);
}

beforeAll(async () => {
  agent = await SdkA2aAgent.start({ name: "Waiting Agent" });
  server = await start();
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  const added = await server.request("/api/agents/a2a", { method: "POST", json: { url: agent.url, id: ID }, token: alice });
  expect(added.status, await added.clone().text()).toBe(201);
});
afterAll(async () => {
  await server?.dispose();
  await agent?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("an A2A step in input-required", () => {
  it("is continued on the same remote task after a restart", async () => {
    const task = await create();
    await reached(task.id, ["input-required"]);
    const asked = agent.executor.tasks.at(-1)!;

    await server!.close();
    server = await start();

    const answered = await server.request(`/api/agent/task/${task.id}/answer`, { method: "POST", json: { answer: "Lisbon" }, token: alice });
    expect(answered.status, await answered.clone().text()).toBe(200);
    const done = await reached(task.id, TERMINAL_TASK_STATES);
    expect(done.state, JSON.stringify(done)).toBe("completed");
    expect(done.result).toEqual({ main: { booked: "Lisbon" } });
    // The answer was a message on the remote task that asked before the restart, not a new task.
    expect(agent.executor.received.at(-1)!.taskId).toBe(asked);
    expect(agent.executor.tasks.at(-1)).toBe(asked);
  });

  it("sends CancelTask to the agent when the task is canceled while it waits", async () => {
    const task = await create();
    await reached(task.id, ["input-required"]);
    const asked = agent.executor.tasks.at(-1)!;
    const response = await server!.request(`/api/agent/task/${task.id}/cancel`, { method: "POST", token: alice });
    expect(response.status).toBe(200);
    expect((await reached(task.id, TERMINAL_TASK_STATES)).state).toBe("canceled");
    await eventually(async () => agent.executor.canceled.includes(asked));
  });
});
