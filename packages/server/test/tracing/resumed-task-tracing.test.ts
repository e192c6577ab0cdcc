/**
 * A task step run again after a restart continues the trace its task was created in: the node stops while the step
 * runs on a real HTTP agent, starts again on the same data directory, and the resumed step's span (exported to a real
 * OTLP receiver) has the caller's trace id and the creating request's span as its parent, as the first attempt's did;
 * the agent receives that trace in its `traceparent`. Before, a resumed step ran untraced (no request around it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.js";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";
import { taskReaching } from "../helpers/tasks.js";
import { HttpAgent } from "../agents/kcore/http-agent.js";

const CALLER_TRACE = "abf92f3577b34da6a3ce929d0e0e473b";
const dataDir = mkdtempSync(join(tmpdir(), "kai-resumed-trace-"));
let receiver: OtlpReceiver;
let server: TestServer | undefined;
let agent: HttpAgent | undefined;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await server?.dispose();
  await agent?.close();
  await receiver?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const start = () =>
  startTestServer({
    keepDataDir: dataDir,
    config: { rateLimit: { enabled: false }, tracing: { enabled: true, otlpEndpoint: receiver.url, sampleRatio: 1, serviceName: "resumed-task" } },
  });

it("continues the creating request's trace in a step resumed after a restart", async () => {
  let answering = false;
  agent = await HttpAgent.start("kExecutor:traced", (step) => (answering ? { body: { output: `done ${step.stepId}` } } : "hang"));
  server = await start();
  const alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  await agent.register(server, alice, ["traced_work"]);

  const created = await server.request("/api/agent/task", {
    method: "POST",
    token: alice,
    headers: { traceparent: `00-${CALLER_TRACE}-00f067aa0ba902b7-01` },
    json: { goal: "survive a restart", plan: { goal: "survive a restart", steps: [{ id: "again", capability: "traced_work", retries: 1 }] } },
  });
  expect(created.status).toBe(202);
  const createdTask = ((await created.json()) as { task: { id: string; traceId?: string } }).task;
  const taskId = createdTask.id;
  // The task names its trace, as created and as read back after the restart.
  expect(createdTask.traceId).toBe(CALLER_TRACE);
  await agent.waitForSteps(1);

  // Stopping exports the spans made so far (the create request's among them).
  await server.close();
  server = undefined;
  await agent.waitForAbort(0);
  answering = true;
  server = await start();
  const done = await taskReaching(server, alice, taskId);
  expect(done.state).toBe("completed");
  expect(done.traceId).toBe(CALLER_TRACE);
  await server.close();
  server = undefined;

  const spans = receiver.spans.filter((span) => span.serviceName === "resumed-task");
  const create = spans.find((span) => span.name === "POST /api/agent/task" && span.traceId === CALLER_TRACE);
  expect(create, "the create request's span").toBeDefined();
  const steps = spans.filter((span) => span.name === "task.step" && span.attributes["kai.task_id"] === taskId);
  // The first attempt (ended by the stop) and the resumed one: both in the caller's trace, both under the create.
  expect(steps.length).toBe(2);
  expect(steps.map((span) => [span.traceId, span.parentSpanId])).toEqual([
    [CALLER_TRACE, create!.spanId],
    [CALLER_TRACE, create!.spanId],
  ]);
  // The agent was asked in that trace both times.
  expect(agent.received.map((step) => step.traceparent?.split("-")[1])).toEqual([CALLER_TRACE, CALLER_TRACE]);
});
