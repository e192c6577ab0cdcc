/**
 * A create that SQLite refuses (here a trigger raising on the insert, a real failure of the real batch): the caller
 * gets an error, no task exists, nothing reached the agent, and the log says the create failed — not that a task
 * "stops here and resumes after a restart", which would send an operator looking for a task that never existed
 * (the runner kCore starts beside the create had its first commit in the same failed batch).
 */
import { join } from "node:path";
import Database from "better-sqlite3";
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

it("a create the store refuses is an error to its caller and no 'resumes after a restart' line", async () => {
  agent = await HttpAgent.start("kExecutor:refused", (step) => ({ body: { output: `done ${step.stepId}` } }));
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  const alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  await agent.register(server, alice, ["refused_work"]);
  // The node's store works: a task completes.
  const works = await createTask(server, alice, { goal: "works", agent: "kExecutor:refused" });
  expect((await taskReaching(server, alice, works.id)).state).toBe("completed");

  const side = new Database(join(server.dataDir, "kai.db"));
  side.exec("CREATE TRIGGER refuse_tasks BEFORE INSERT ON tasks BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");
  side.close();
  const stepsBefore = agent.received.length;
  const response = await server.request("/api/agent/task", { method: "POST", json: { goal: "refused", agent: "kExecutor:refused" }, token: alice });
  expect(response.status).toBeGreaterThanOrEqual(500);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBeTruthy();
  // An unexpected store failure: a plain internal error, no detail of it.
  expect(JSON.stringify(body)).not.toContain("stack");
  expect(JSON.stringify(body)).not.toContain("refused by the test");

  const listed = (await (await server.request("/api/agent/tasks", { token: alice })).json()) as { tasks: Array<{ goal: string }> };
  expect(listed.tasks.map((task) => task.goal)).toEqual(["works"]);
  // Give a wrongly started step time to show up.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(agent.received.length).toBe(stepsBefore);
  expect(server.logs.filter((line) => line.includes("resumes after a restart"))).toEqual([]);
  expect(server.logs.filter((line) => line.includes("create was not committed"))).toHaveLength(1);
});
