/**
 * kCore through a real node: tasks created over `POST /api/agent/task`, run on small real HTTP agents (node:http
 * servers registered by signed manifests) and on the gateway (the fake OpenAI server behind it). A three-step plan
 * across two agents and a gateway capability, independent steps in parallel, an agent that fails (the step goes to
 * another), a step timeout, a cancel that reaches the agent, input-required then an answer, idempotent creates,
 * owners' isolation, and the stored events (gap-free seq, committed before they are read).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, TaskSchema, TERMINAL_TASK_STATES, type CreateTaskRequestInput, type Task } from "@kai/protocol";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../../gateway/fakes/openai-fake.js";
import { ANSWER, type FakeUpstream } from "../../gateway/fakes/fake-server.js";
import { createTask, readTask, taskReaching } from "../../helpers/tasks.js";
import { HttpAgent } from "./http-agent.js";

let server: TestServer;
let llm: FakeUpstream;
let alice: string;
let bob: string;
const agents: HttpAgent[] = [];

async function agent(id: string, capabilities: string[], behaviour: ConstructorParameters<typeof HttpAgent>[1], limits?: { maxConcurrentTasks?: number }): Promise<HttpAgent> {
  const started = await HttpAgent.start(id, behaviour);
  agents.push(started);
  await started.register(server, alice, capabilities, limits);
  return started;
}

const create = (body: CreateTaskRequestInput, token = alice): Promise<Task> => createTask(server, token, body);
const read = (id: string, token = alice): Promise<Task> => readTask(server, token, id);

const settled = (id: string, states: readonly string[] = TERMINAL_TASK_STATES): Promise<Task> => taskReaching(server, alice, id, states);

beforeAll(async () => {
  llm = await startOpenAIFake();
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  bob = await mintToken(server, ["tasks:run", "agents:read"], "bob");
  const response = await server.request("/api/services/register", {
    method: "POST",
    json: registration({ id: "llm", provider: "openai", url: llm.url, capabilities: ["llm_chat"], owner: "alice", visibility: "private" }),
  });
  expect(response.status, await response.text()).toBe(201);
  await eventually(async () => {
    const models = await server.request("/v1/models?capability=llm_chat");
    return models.ok && ((await models.json()) as { data: { id: string }[] }).data.some((model) => model.id.endsWith(OPENAI_MODEL));
  });
});
afterAll(async () => {
  await server?.dispose();
  await llm?.close();
  for (const started of agents) await started.close();
});

describe("a plan across agents and the gateway", () => {
  it("runs three steps on two agents and a gateway capability, wiring outputs into inputs, and stores its events in order", async () => {
    const fetcher = await agent("kExecutor:fetcher", ["web_fetch"], (step) => ({ body: { output: { text: `page at ${String(step.input.url)}` } } }));
    const writer = await agent("kWriter:main", ["text_combine"], (step) => ({ body: { output: { summary: `${String(step.input.page)} + ${String(step.input.chat)}` } } }));
    const task = await create({
      goal: "fetch, ask, combine",
      plan: {
        goal: "fetch, ask, combine",
        steps: [
          { id: "fetch", capability: "web_fetch", input: { url: "https://example.org/" } },
          { id: "ask", capability: "llm_chat", input: { model: OPENAI_MODEL, messages: [{ role: "user", content: "Say hello" }] } },
          {
            id: "combine",
            capability: "text_combine",
            dependsOn: ["fetch", "ask"],
            inputsFrom: { page: { step: "fetch", path: "text" }, chat: { step: "ask", path: "choices.0.message.content" } },
          },
        ],
      },
    });
    expect(task.state).toBe("submitted");
    expect(task.planId).toMatch(/^plan_/);
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done)).toBe("completed");
    expect(done.result).toEqual({ combine: { summary: `page at https://example.org/ + ${ANSWER}` } });
    expect(done.steps.map((step) => [step.id, step.state, step.assignee])).toEqual([
      ["fetch", "completed", "kExecutor:fetcher"],
      ["ask", "completed", "llm"],
      ["combine", "completed", "kWriter:main"],
    ]);
    expect(fetcher.received[0]!.body).toMatchObject({ taskId: task.id, planId: task.planId, stepId: "fetch", capability: "web_fetch" });
    expect(writer.received).toHaveLength(1);

    const events = await server.mesh.taskEvents.eventsAfter(task.id, 0, 100);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(events.at(-1)!.seq).toBe(done.lastSeq);
    expect(events.every((event) => event.taskId === task.id && event.planId === task.planId)).toBe(true);
    expect(events[0]).toMatchObject({ type: "TASK_PROGRESS", agent: "kCore:main", payload: { state: "submitted" } });
    expect(events.filter((event) => event.type === "AGENT_RESULT").map((event) => event.agent).sort()).toEqual(["kExecutor:fetcher", "kWriter:main", "llm"]);
    expect(events.at(-1)).toMatchObject({ type: "TASK_PROGRESS", payload: { state: "completed" } });
    // Every log line of the task carries its ids.
    const taskLines = server.logs.filter((line) => line.includes(`"taskId":"${task.id}"`));
    expect(taskLines.length).toBeGreaterThan(0);
    expect(taskLines.every((line) => line.includes(`"planId":"${task.planId}"`))).toBe(true);
  });

  it("sends a chained step only once the step before it is stored completed and this one stored running", async () => {
    // What the store holds at the moment each step reaches its agent (read through the API: the committed task).
    const seen: Array<{ step: string; states: string[]; outputs: unknown[] }> = [];
    const chain = await agent("kExecutor:chain", ["chain_link"], async (step) => {
      const stored = await read(step.taskId);
      seen.push({ step: step.stepId, states: stored.steps.map((run) => run.state), outputs: stored.steps.map((run) => run.output ?? null) });
      return { body: { output: { link: step.stepId } } };
    });
    const steps = ["a", "b", "c"].map((id, i, ids) => ({ id, capability: "chain_link", input: {}, ...(i > 0 ? { dependsOn: [ids[i - 1]!], inputsFrom: { previous: { step: ids[i - 1]!, path: "link" } } } : {}) }));
    const task = await create({ goal: "a chain", plan: { goal: "a chain", steps } });
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done)).toBe("completed");
    expect(chain.received.map((received) => received.body.input)).toEqual([{}, { previous: "a" }, { previous: "b" }]);
    expect(seen).toEqual([
      { step: "a", states: ["running", "pending", "pending"], outputs: [null, null, null] },
      { step: "b", states: ["completed", "running", "pending"], outputs: [{ link: "a" }, null, null] },
      { step: "c", states: ["completed", "completed", "running"], outputs: [{ link: "a" }, { link: "b" }, null] },
    ]);
    // Each state's event is stored with it, in order: a step's result before the next step's running.
    const events = await server.mesh.taskEvents.eventsAfter(task.id, 0, 100);
    const order = events.filter((event) => event.payload.step !== undefined).map((event) => `${event.type === "AGENT_RESULT" ? "result" : String(event.payload.stepState)} ${String(event.payload.step)}`);
    expect(order).toEqual(["running a", "result a", "running b", "result b", "running c", "result c"]);
  });

  it("publishes a new task's events live in their stored order, and answers the create with the task as submitted", async () => {
    // On SQLite the runner starts before the create is stored, so that its first commit shares the create's
    // transaction (task-engine.ts): what subscribers see live and what the caller is told must not show it.
    await agent("kExecutor:ordered", ["ordered_step"], () => ({ body: { output: { ok: true } } }));
    const live: Array<{ taskId: string | undefined; seq: number | undefined; state: unknown }> = [];
    const unsubscribe = server.mesh.bus.subscribe((event) => {
      if (event.type === "TASK_PROGRESS" || event.type === "AGENT_RESULT") live.push({ taskId: event.taskId, seq: event.seq, state: event.payload.stepState ?? event.payload.state ?? event.type });
    });
    try {
      const tasks = await Promise.all(Array.from({ length: 5 }, () => create({ goal: "one step", plan: { goal: "one step", steps: [{ id: "only", capability: "ordered_step", input: {} }] } })));
      for (const task of tasks) {
        expect(task.state).toBe("submitted");
        expect(task.steps.map((run) => run.state)).toEqual(["pending"]);
        expect(task.lastSeq).toBe(1);
        expect((await settled(task.id)).state).toBe("completed");
      }
      for (const task of tasks) {
        const seen = live.filter((event) => event.taskId === task.id);
        expect(seen.map((event) => event.seq)).toEqual(seen.map((_, index) => index + 1));
        expect(seen.map((event) => event.state)).toEqual(["submitted", "working", "running", "AGENT_RESULT", "completed"]);
      }
    } finally {
      unsubscribe();
    }
  });

  it("runs independent steps at the same time", async () => {
    // Answers only once both steps are in: run one after the other, the first would wait forever (and time out).
    let release: () => void = () => undefined;
    const both = new Promise<void>((resolve) => (release = resolve));
    const parallel = await agent("kExecutor:pair", ["pair_work"], async (_step, self) => {
      if (self.received.length >= 2) release();
      await both;
      return { body: { output: self.received.length } };
    });
    const task = await create({
      goal: "two at once",
      plan: { goal: "two at once", steps: [{ id: "left", capability: "pair_work", timeoutMs: 10_000, retries: 0 }, { id: "right", capability: "pair_work", timeoutMs: 10_000, retries: 0 }] },
    });
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done.steps)).toBe("completed");
    expect(parallel.received).toHaveLength(2);
    expect(Object.keys(done.result as object).sort()).toEqual(["left", "right"]);
  });
});

describe("failures", () => {
  it("gives a failed step to another agent and never back to the one that failed", async () => {
    const broken = await agent("kExecutor:broken", ["resize"], () => ({ status: 500, body: { error: { message: "disk full" } } }));
    const healthy = await agent("kExecutor:healthy", ["resize"], () => ({ body: { output: "resized" } }));
    const task = await create({ goal: "resize", agent: "kExecutor:broken", capability: "resize" });
    const done = await settled(task.id);
    expect(done.state).toBe("completed");
    expect(done.steps[0]).toMatchObject({ state: "completed", assignee: "kExecutor:healthy", attempts: 2, output: "resized" });
    expect(broken.received).toHaveLength(1);
    expect(healthy.received).toHaveLength(1);
    const errors = (await server.mesh.taskEvents.eventsAfter(task.id, 0, 100)).filter((event) => event.type === "AGENT_ERROR");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ agent: "kExecutor:broken", payload: { step: "main", attempt: 1, willRetry: true, error: { code: "agent_error" } } });
    expect(JSON.stringify(errors[0]!.payload)).toContain("disk full");
  });

  it("fails a step that takes longer than its timeout, closing the agent's request", async () => {
    const slow = await agent("kExecutor:slow", ["slow_work"], () => "hang");
    const task = await create({ goal: "too slow", plan: { goal: "too slow", steps: [{ id: "wait", capability: "slow_work", timeoutMs: 300, retries: 0 }] } });
    const done = await settled(task.id);
    expect(done.state).toBe("failed");
    expect(done.steps[0]).toMatchObject({ state: "failed", error: { code: "step_timeout" } });
    expect(done.error).toMatchObject({ code: "step_failed" });
    await slow.waitForAbort(0);
  });

  it("fails the whole task at its deadline, closing the running step's request", async () => {
    const late = await agent("kExecutor:late", ["late_work"], () => "hang");
    const task = await create({ goal: "in time", agent: "kExecutor:late", constraints: { deadlineMs: 300 } });
    const done = await settled(task.id);
    expect(done.state).toBe("failed");
    expect(done.error).toMatchObject({ code: "task_deadline_exceeded" });
    expect(done.steps[0]!.state).toBe("canceled");
    await late.waitForAbort(0);
  });

  it("fails honestly when nothing offers the capability", async () => {
    const task = await create({ goal: "nobody", capability: "teleport" });
    const done = await settled(task.id);
    expect(done.state).toBe("failed");
    expect(done.steps[0]!.error).toMatchObject({ code: "no_assignee" });
  });

  it("without a plan, agent or capability asks kPlanner, which says when no model is available", async () => {
    const response = await server.request("/api/agent/task", { method: "POST", json: { goal: "plan this for me" }, token: bob });
    expect(response.status).toBe(503);
    expect(ErrorBodySchema.parse(await response.json()).error.code).toBe("planner_unavailable");
  });
});

describe("cancel and input-required", () => {
  it("cancels a running task, and the agent sees its request closed", async () => {
    const stuck = await agent("kExecutor:stuck", ["stuck_work"], () => "hang");
    const task = await create({ goal: "never ends", agent: "kExecutor:stuck" });
    await stuck.waitForSteps(1);
    // The agent status shows kCore's load on it.
    const status = (await (await server.request("/api/agent/status", { token: alice })).json()) as { agents: Array<{ id: string; load: { running: number }; currentTasks: string[] }> };
    expect(status.agents.find((entry) => entry.id === "kExecutor:stuck")).toMatchObject({ load: { running: 1 }, currentTasks: [task.id] });
    const response = await server.request(`/api/agent/task/${task.id}/cancel`, { method: "POST", token: alice });
    expect(response.status).toBe(200);
    const canceled = TaskSchema.parse(((await response.json()) as { task: unknown }).task);
    expect(canceled.state).toBe("canceled");
    expect(canceled.steps[0]!.state).toBe("canceled");
    await stuck.waitForAbort(0);
    expect((await read(task.id)).state).toBe("canceled");
    // Cancelling again changes nothing.
    expect((await server.request(`/api/agent/task/${task.id}/cancel`, { method: "POST", token: alice })).status).toBe(200);
  });

  it("waits for an answer when an agent asks, then resumes the step with it", async () => {
    const asker = await agent("kExecutor:asker", ["book_trip"], (step) =>
      step.answer === undefined ? { body: { inputRequired: { prompt: "Which city?" } } } : { body: { output: { booked: step.answer } } },
    );
    const task = await create({ goal: "book a trip", agent: "kExecutor:asker", input: { days: 3 } });
    const waiting = await settled(task.id, ["input-required"]);
    expect(waiting.question).toEqual({ step: "main", prompt: "Which city?" });
    expect(waiting.steps[0]!.state).toBe("input-required");
    const answered = await server.request(`/api/agent/task/${task.id}/answer`, { method: "POST", json: { answer: "Lisbon" }, token: alice });
    expect(answered.status, await answered.clone().text()).toBe(200);
    const done = await settled(task.id);
    expect(done.state).toBe("completed");
    expect(done.result).toEqual({ main: { booked: "Lisbon" } });
    expect(asker.received.map((step) => step.body.answer)).toEqual([undefined, "Lisbon"]);
    expect(asker.received[1]!.body.input).toEqual({ days: 3 });
    expect(done.steps[0]!.attempts).toBe(1);

    const again = await server.request(`/api/agent/task/${task.id}/answer`, { method: "POST", json: { answer: "Porto" }, token: alice });
    expect(again.status).toBe(409);
    expect(ErrorBodySchema.parse(await again.json()).error.code).toBe("task_not_waiting");
  });
});

describe("the task API", () => {
  it("returns the first task for a repeated idempotency key, and keeps tasks to their owner", async () => {
    await agent("kExecutor:echo", ["echo"], (step) => ({ body: { output: step.input } }));
    const first = await create({ goal: "echo", capability: "echo", input: { n: 1 }, idempotencyKey: "echo-1" });
    const second = await create({ goal: "echo", capability: "echo", input: { n: 2 }, idempotencyKey: "echo-1" });
    expect(second.id).toBe(first.id);
    expect((await settled(first.id)).result).toEqual({ main: { n: 1 } });

    expect((await server.request(`/api/agent/task/${first.id}`, { token: bob })).status).toBe(404);
    expect((await server.request(`/api/agent/task/${first.id}/cancel`, { method: "POST", token: bob })).status).toBe(404);
    const mine = (await (await server.request("/api/agent/tasks?limit=500", { token: alice })).json()) as { tasks: Task[] };
    expect(mine.tasks.map((task) => task.id)).toContain(first.id);
    expect(mine.tasks.every((task) => task.owner === "alice")).toBe(true);
    const bobs = (await (await server.request("/api/agent/tasks", { token: bob })).json()) as { tasks: Task[] };
    expect(bobs.tasks).toEqual([]);
    const completed = (await (await server.request("/api/agent/tasks?state=completed&limit=1", { token: alice })).json()) as { tasks: Task[]; nextCursor: string | null };
    expect(completed.tasks).toHaveLength(1);
    expect(completed.tasks[0]!.state).toBe("completed");
    expect(completed.nextCursor).not.toBeNull();
  });

  it("refuses a plan that is not a DAG", async () => {
    const response = await server.request("/api/agent/task", {
      method: "POST",
      token: alice,
      json: { goal: "loop", plan: { goal: "loop", steps: [{ id: "a", capability: "echo", dependsOn: ["b"] }, { id: "b", capability: "echo", dependsOn: ["a"] }] } },
    });
    expect(response.status).toBe(400);
    expect(ErrorBodySchema.parse(await response.json()).error.code).toBe("validation_failed");
  });
});
