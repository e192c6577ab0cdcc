/**
 * A restart while a step's output is being reviewed (SQLite on the node's data directory): the node stops while a
 * real HTTP reviewer agent holds the review, starts again on the same data, and the step neither stays "reviewing"
 * forever nor completes unchecked: it runs again like any interrupted step, is reviewed again, and completes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { TaskSchema, TERMINAL_TASK_STATES, type Task } from "@kai/protocol";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { HttpAgent } from "./http-agent.js";

const dataDir = mkdtempSync(join(tmpdir(), "kai-review-restart-"));
let server: TestServer | undefined;
const agents: HttpAgent[] = [];

afterAll(async () => {
  await server?.dispose();
  for (const agent of agents) await agent.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = () => startTestServer({ keepDataDir: dataDir, config: { rateLimit: { enabled: false } } });

async function read(node: TestServer, token: string, id: string): Promise<Task> {
  const response = await node.request(`/api/agent/task/${id}`, { token });
  return TaskSchema.parse(((await response.json()) as { task: unknown }).task);
}

it("reviews a step again after a restart during its review, never passing it unchecked", async () => {
  let reviewing = false;
  const writer = await HttpAgent.start("kWriter:restarted", (step) => ({ body: { output: `text for ${step.stepId}` } }));
  const reviewer = await HttpAgent.start("kReviewer:restarted", () => (reviewing ? { body: { output: { approved: true, reasons: ["fine"] } } } : "hang"));
  agents.push(writer, reviewer);
  server = await start();
  const alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  await writer.register(server, alice, ["restart_text"]);
  await reviewer.register(server, alice, ["review"]);

  const response = await server.request("/api/agent/task", {
    method: "POST",
    token: alice,
    json: { goal: "survive", plan: { goal: "survive", steps: [{ id: "text", capability: "restart_text", review: true, retries: 1 }] }, constraints: { agents: ["kWriter:restarted", "kReviewer:restarted"] } },
  });
  expect(response.status).toBe(202);
  const id = TaskSchema.parse(((await response.json()) as { task: unknown }).task).id;
  await reviewer.waitForSteps(1);
  // Stored as being reviewed before the node stops.
  await eventually(async () => (await read(server!, alice, id)).steps[0]!.review?.state === "reviewing");

  await server.close();
  await reviewer.waitForAbort(0);
  reviewing = true;
  server = await start();

  const done = await eventually(async () => {
    const task = await read(server!, alice, id);
    return TERMINAL_TASK_STATES.includes(task.state) ? task : undefined;
  }, 15_000);
  expect(done.state, JSON.stringify(done)).toBe("completed");
  expect(done.steps[0]).toMatchObject({ state: "completed", attempts: 2, review: { state: "approved", reviewer: "kReviewer:restarted", attempt: 2 } });
  expect(writer.received).toHaveLength(2);
  expect(reviewer.received).toHaveLength(2);
  const events = await server.mesh.taskEvents.eventsAfter(id, 0, 100);
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
});
