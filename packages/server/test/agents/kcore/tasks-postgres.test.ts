/**
 * kCore on PostgreSQL (a real server started here): a node whose storage is PostgreSQL runs a two-step task on a real
 * HTTP agent, the task and its gap-free events are in the database, and a second node started on the same database
 * (after the first stopped) reads them.
 */
import { afterAll, expect, it } from "vitest";
import { TaskSchema, TERMINAL_TASK_STATES, type Task } from "@kai/protocol";
import { eventually, mintToken, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { startPostgres } from "../../helpers/postgres-server.js";
import { HttpAgent } from "./http-agent.js";

const postgres = await startPostgres();
let server: TestServer | undefined;
let agent: HttpAgent | undefined;

afterAll(async () => {
  await server?.dispose();
  await agent?.close();
  await postgres?.stop();
});

it.skipIf(!postgres)("runs a task with its state and events stored in PostgreSQL", async () => {
  const url = await postgres!.createDatabase("kcore");
  const start = () => startTestServer({ env: { KAI_VAULT_PASSPHRASE: "kcore on postgres, a test passphrase" }, config: { rateLimit: { enabled: false }, storage: { kind: "postgres", postgres: { url } } } });
  server = await start();
  const alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  agent = await HttpAgent.start("kExecutor:pg", (step) => ({ body: { output: { step: step.stepId, input: step.input } } }));
  await agent.register(server, alice, ["pg_work"]);

  const response = await server.request("/api/agent/task", {
    method: "POST",
    token: alice,
    json: { goal: "two steps", plan: { goal: "two steps", steps: [{ id: "one", capability: "pg_work", input: { n: 1 } }, { id: "two", capability: "pg_work", dependsOn: ["one"], inputsFrom: { from: { step: "one", path: "input.n" } } }] } },
  });
  expect(response.status, await response.clone().text()).toBe(202);
  const { id } = TaskSchema.parse(((await response.json()) as { task: unknown }).task);
  const read = async (node: TestServer): Promise<Task> => TaskSchema.parse(((await (await node.request(`/api/agent/task/${id}`, { token: alice })).json()) as { task: unknown }).task);
  const done = await eventually(async () => {
    const task = await read(server!);
    return TERMINAL_TASK_STATES.includes(task.state) ? task : undefined;
  }, 15_000);
  expect(done.state).toBe("completed");
  expect(done.result).toEqual({ two: { step: "two", input: { from: 1 } } });
  const events = await server.mesh.taskEvents.eventsAfter(id, 0, 100);
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
  expect(events.at(-1)!.seq).toBe(done.lastSeq);

  await server.dispose();
  server = await start();
  expect(await read(server)).toEqual(done);
});
