/**
 * A new task's first steps go out before its creator's 202 does (TaskEngine.afterFirstSteps): the agent starts
 * working while the node writes the answer and its log line, instead of after them. Through the real server and a
 * real HTTP agent: by the time the 202 has reached the caller, the step's request has reached the agent. And a
 * create still answers when its first step cannot be sent (no agent offers the capability): the task has failed.
 */
import { afterAll, expect, it } from "vitest";
import { mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { createTask, taskReaching } from "../../helpers/tasks.js";
import { HttpAgent } from "./http-agent.js";

let server: TestServer | undefined;
let agent: HttpAgent | undefined;

afterAll(async () => {
  await server?.dispose();
  await agent?.close();
});

it("sends a one-step task's step before answering its creator, and answers when the step cannot be sent", async () => {
  agent = await HttpAgent.start("kExecutor:order", (step) => ({ body: { output: `done ${step.stepId}` } }));
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  const alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  await agent.register(server, alice, ["ordered_work"]);
  // The first task opens the node's connection to the agent (a connect takes turns of its own); later steps reuse it.
  const first = await createTask(server, alice, { goal: "opens the connection", agent: "kExecutor:order" });
  expect((await taskReaching(server, alice, first.id)).state).toBe("completed");

  for (let round = 1; round <= 10; round++) {
    const task = await createTask(server, alice, { goal: `round ${round}`, agent: "kExecutor:order" });
    // The step's request was written a turn of the event loop before the 202: the agent had it first.
    expect(agent.arrived, `round ${round}`).toBe(round + 1);
    expect((await taskReaching(server, alice, task.id)).state).toBe("completed");
  }

  const nobody = await createTask(server, alice, { goal: "nobody offers it", capability: "unoffered_work" });
  expect((await taskReaching(server, alice, nobody.id)).state).toBe("failed");
});
