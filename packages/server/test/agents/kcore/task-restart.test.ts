/**
 * A restart in the middle of tasks (SQLite on the node's data directory): the node stops while two steps run on a
 * real HTTP agent (their requests are closed), starts again on the same data, and carries on: the step with a retry
 * left runs again and its task completes; the one without fails with a clear error; a task finished before the
 * restart is still there. No acknowledged task is lost, and the event sequence goes on without a gap.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import type { Task } from "@kai/protocol";
import { mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { createTask, taskReaching } from "../../helpers/tasks.js";
import { HttpAgent } from "./http-agent.js";

const dataDir = mkdtempSync(join(tmpdir(), "kai-restart-"));
let server: TestServer | undefined;
let agent: HttpAgent | undefined;

afterAll(async () => {
  await server?.dispose();
  await agent?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = () => startTestServer({ keepDataDir: dataDir, config: { rateLimit: { enabled: false } } });

const create = createTask;
const settled = (node: TestServer, token: string, id: string): Promise<Task> => taskReaching(node, token, id);

it("resumes the tasks that were running, or fails them honestly, after a restart", async () => {
  let answering = false;
  agent = await HttpAgent.start("kExecutor:durable", (step) => (answering ? { body: { output: `done ${step.stepId}` } } : "hang"));
  server = await start();
  const alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  await agent.register(server, alice, ["durable_work"]);

  answering = true;
  const before = await create(server, alice, { goal: "finished before", agent: "kExecutor:durable" });
  expect((await settled(server, alice, before.id)).state).toBe("completed");
  answering = false;

  const retried = await create(server, alice, { goal: "retry me", plan: { goal: "retry me", steps: [{ id: "again", capability: "durable_work", retries: 1 }] } });
  const lost = await create(server, alice, { goal: "no retries", plan: { goal: "no retries", steps: [{ id: "once", capability: "durable_work", retries: 0 }] } });
  await agent.waitForSteps(3);
  const seqBefore = (await server.mesh.taskEvents.eventsAfter(retried.id, 0, 100)).length;

  await server.close();
  await agent.waitForAbort(1);
  await agent.waitForAbort(2);
  answering = true;
  server = await start();

  const resumed = await settled(server, alice, retried.id);
  expect(resumed.state).toBe("completed");
  expect(resumed.result).toEqual({ again: "done again" });
  expect(resumed.steps[0]).toMatchObject({ state: "completed", attempts: 2 });

  const failed = await settled(server, alice, lost.id);
  expect(failed.state).toBe("failed");
  expect(failed.steps[0]).toMatchObject({ state: "failed", error: { code: "interrupted" } });
  expect(failed.error?.message).toContain("the node stopped while the step ran");

  expect((await settled(server, alice, before.id)).result).toEqual({ main: "done main" });
  const events = await server.mesh.taskEvents.eventsAfter(retried.id, 0, 100);
  expect(events.length).toBeGreaterThan(seqBefore);
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(events.some((event) => event.type === "AGENT_ERROR" && (event.payload.error as { code: string }).code === "interrupted")).toBe(true);
});
