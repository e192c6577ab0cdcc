/**
 * kReviewer through a real node: `review: true` steps and `constraints.review` tasks, reviewed by small real HTTP
 * reviewer agents (node:http servers registered by signed manifests, offering `review`) or, with no reviewer agent,
 * by the scripted fake language model behind the gateway. An approved output reaches its dependants only after the
 * verdict; a rejected one goes to another agent with the reasons; no retry left fails `review_rejected`; no reviewer
 * at all fails `reviewer_unavailable` (never passed unchecked); a cancel during a review reaches the reviewer; the
 * verdicts are on the step runs and in the events.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskSchema, type CreateTaskRequestInput, type Task } from "@kai/protocol";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { createTask, taskReaching } from "../../helpers/tasks.js";
import { OPENAI_MODEL } from "../../gateway/fakes/openai-fake.js";
import { startScriptedOpenAI, type ScriptedOpenAI } from "../planner/scripted-openai.js";
import { HttpAgent, type Behaviour } from "./http-agent.js";

let server: TestServer;
let llm: ScriptedOpenAI;
let alice: string;
let bob: string;
const agents: HttpAgent[] = [];

async function agent(id: string, capabilities: string[], behaviour: Behaviour, token = alice): Promise<HttpAgent> {
  const started = await HttpAgent.start(id, behaviour);
  agents.push(started);
  await started.register(server, token, capabilities);
  return started;
}

const create = (body: CreateTaskRequestInput, token = alice): Promise<Task> => createTask(server, token, body);
const settled = (id: string, token = alice): Promise<Task> => taskReaching(server, token, id);

const events = (taskId: string) => server.mesh.taskEvents.eventsAfter(taskId, 0, 200);
const progressOf = async (taskId: string, step: string) => (await events(taskId)).filter((event) => event.type === "TASK_PROGRESS" && event.payload.step === step).map((event) => event.payload);


beforeAll(async () => {
  llm = await startScriptedOpenAI();
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "alice");
  bob = await mintToken(server, ["tasks:run", "agents:read", "agents:write"], "bob");
  // Only alice may use the language model.
  const response = await server.request("/api/services/register", {
    method: "POST",
    json: registration({ id: "llm", provider: "openai", url: llm.fake.url, capabilities: ["llm_chat"], owner: "alice", visibility: "private" }),
  });
  expect(response.status, await response.text()).toBe(201);
  await eventually(async () => {
    const models = await server.request("/v1/models?capability=llm_chat");
    return models.ok && ((await models.json()) as { data: { id: string }[] }).data.some((model) => model.id === OPENAI_MODEL);
  });
});
afterAll(async () => {
  await server?.dispose();
  await llm?.fake.close();
  for (const started of agents) await started.close();
});

describe("a review: true step reviewed by a reviewer agent", () => {
  it("holds the dependants until the verdict, records it on the step run, and sends the reviewer what was asked and answered", async () => {
    const writer = await agent("kWriter:draft", ["draft_text"], (step) => ({ body: { output: { text: `draft about ${String(step.input.topic)}` } } }));
    const reviewer = await agent("kReviewer:strict", ["review"], () => ({ body: { output: { approved: true, reasons: ["clear"], score: 0.9 } } }));
    const publisher = await agent("kExecutor:publish", ["publish_text"], (step) => ({ body: { output: { published: step.input.text } } }));
    const task = await create({
      goal: "write and publish",
      plan: {
        goal: "write and publish",
        steps: [
          { id: "draft", capability: "draft_text", input: { topic: "tides" }, review: true },
          { id: "publish", capability: "publish_text", dependsOn: ["draft"], inputsFrom: { text: { step: "draft", path: "text" } } },
        ],
      },
      constraints: { agents: ["kWriter:draft", "kReviewer:strict", "kExecutor:publish"] },
    });
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done)).toBe("completed");
    expect(done.result).toEqual({ publish: { published: "draft about tides" } });
    const draft = done.steps.find((run) => run.id === "draft")!;
    expect(draft).toMatchObject({ state: "completed", assignee: "kWriter:draft", attempts: 1, review: { state: "approved", reviewer: "kReviewer:strict", reasons: ["clear"], score: 0.9, attempt: 1 } });
    expect(done.steps.find((run) => run.id === "publish")!.review).toBeUndefined();

    expect(writer.received).toHaveLength(1);
    expect(reviewer.received).toHaveLength(1);
    expect(reviewer.received[0]!.body).toMatchObject({
      taskId: task.id,
      stepId: "draft",
      capability: "review",
      input: { goal: "write and publish", step: { id: "draft", capability: "draft_text", input: { topic: "tides" } }, output: { text: "draft about tides" } },
    });
    expect(publisher.received).toHaveLength(1);

    // The order users rely on: reviewing, then the verdict, then the step's result, and only then its dependant starts.
    const log = await events(task.id);
    const at = (match: (event: (typeof log)[number]) => boolean) => log.findIndex(match);
    const reviewing = at((event) => event.payload.step === "draft" && event.payload.stepState === "reviewing");
    const verdict = at((event) => event.payload.step === "draft" && (event.payload.review as { state?: string } | undefined)?.state === "approved");
    const result = at((event) => event.type === "AGENT_RESULT" && event.payload.step === "draft");
    const dependant = at((event) => event.payload.step === "publish" && event.payload.stepState === "running");
    expect(reviewing).toBeGreaterThan(0);
    expect([reviewing < verdict, verdict < result, result < dependant]).toEqual([true, true, true]);
    expect(log.map((event) => event.seq)).toEqual(log.map((_, index) => index + 1));
  });

  it("gives a rejected output to another agent with the reasons, and completes on the approved one", async () => {
    const first = await agent("kWriter:hasty", ["summary_text"], () => ({ body: { output: { text: "short", by: "hasty" } } }));
    const second = await agent("kWriter:careful", ["summary_text"], (step) => ({ body: { output: { text: "a careful summary", by: "careful", sawFeedback: step.input.reviewFeedback ?? null } } }));
    const reviewer = await agent("kReviewer:picky", ["review"], (step) => {
      const output = (step.input as { output: { by: string } }).output;
      return { body: { output: output.by === "hasty" ? { approved: false, reasons: ["too short"], score: 0.2 } : { approved: true, score: 0.8 } } };
    });
    const task = await create({
      goal: "summarise",
      plan: { goal: "summarise", steps: [{ id: "summary", capability: "summary_text", agent: "kWriter:hasty", review: true, retries: 1 }] },
      constraints: { agents: ["kWriter:hasty", "kWriter:careful", "kReviewer:picky"] },
    });
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done)).toBe("completed");
    const run = done.steps[0]!;
    expect(run).toMatchObject({ state: "completed", assignee: "kWriter:careful", attempts: 2, review: { state: "approved", reviewer: "kReviewer:picky", attempt: 2 } });
    expect(first.received).toHaveLength(1);
    expect(second.received).toHaveLength(1);
    expect(second.received[0]!.body.input.reviewFeedback).toEqual({ rejected: true, reasons: ["too short"] });
    expect(reviewer.received).toHaveLength(2);
    expect((reviewer.received[1]!.body.input as { previous?: string[] }).previous).toEqual(["too short"]);

    const progress = await progressOf(task.id, "summary");
    const rejected = progress.find((payload) => (payload.review as { state?: string } | undefined)?.state === "rejected");
    expect(rejected).toMatchObject({ stepState: "pending", willRetry: true, error: { code: "review_rejected" }, review: { reviewer: "kReviewer:picky", reasons: ["too short"], score: 0.2 } });
  });

  it("fails the task review_rejected when no retry is left, and its dependants never run", async () => {
    await agent("kWriter:only", ["poem_text"], () => ({ body: { output: "roses are red" } }));
    await agent("kReviewer:harsh", ["review"], () => ({ body: { output: { approved: false, reasons: ["does not rhyme", "too short"] } } }));
    const after = await agent("kExecutor:after", ["poem_print"], () => ({ body: { output: "printed" } }));
    const task = await create({
      goal: "a poem",
      plan: {
        goal: "a poem",
        steps: [
          { id: "poem", capability: "poem_text", review: true, retries: 0 },
          { id: "print", capability: "poem_print", dependsOn: ["poem"] },
        ],
      },
      constraints: { agents: ["kWriter:only", "kReviewer:harsh", "kExecutor:after"] },
    });
    const done = await settled(task.id);
    expect(done.state).toBe("failed");
    expect(done.error).toMatchObject({ code: "review_rejected" });
    expect(done.error!.message).toContain("does not rhyme");
    expect(done.steps.map((run) => [run.id, run.state])).toEqual([
      ["poem", "failed"],
      ["print", "skipped"],
    ]);
    expect(done.steps[0]!.review).toMatchObject({ state: "rejected", reviewer: "kReviewer:harsh", reasons: ["does not rhyme", "too short"] });
    expect(done.result).toBeUndefined();
    expect(after.received).toHaveLength(0);
  });

  it("passes over a reviewer agent that answers no verdict, and never lets an agent review its own output", async () => {
    // kWriter:selfish offers both the work and `review`: it must not judge itself.
    const selfish = await agent("kWriter:selfish", ["essay_text", "review"], (step) => (step.capability === "review" ? { body: { output: { approved: true } } } : { body: { output: "an essay" } }));
    const broken = await agent("kReviewer:broken", ["review"], () => ({ body: { output: "looks fine to me" } }));
    const fair = await agent("kReviewer:fair", ["review"], () => ({ body: { output: { approved: true, reasons: [] } } }));
    const task = await create({
      goal: "an essay",
      plan: { goal: "an essay", steps: [{ id: "essay", capability: "essay_text", review: true }] },
      constraints: { agents: ["kWriter:selfish", "kReviewer:broken", "kReviewer:fair"] },
    });
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done)).toBe("completed");
    expect(done.steps[0]!.review).toMatchObject({ state: "approved", reviewer: "kReviewer:fair" });
    expect(selfish.received.filter((step) => step.body.capability === "review")).toHaveLength(0);
    expect(broken.received.length + fair.received.length).toBeGreaterThanOrEqual(1);
  });
});

describe("cancel during a review", () => {
  it("closes the reviewer's request and cancels the task; the output is never accepted", async () => {
    await agent("kWriter:slowly-reviewed", ["memo_text"], () => ({ body: { output: "a memo" } }));
    const reviewer = await agent("kReviewer:slow", ["review"], () => "hang");
    const task = await create({
      goal: "a memo",
      plan: { goal: "a memo", steps: [{ id: "memo", capability: "memo_text", review: true }] },
      constraints: { agents: ["kWriter:slowly-reviewed", "kReviewer:slow"] },
    });
    await reviewer.waitForSteps(1);
    const reviewing = await eventually(async () => {
      const response = await server.request(`/api/agent/task/${task.id}`, { token: alice });
      const read = TaskSchema.parse(((await response.json()) as { task: unknown }).task);
      return read.steps[0]!.review?.state === "reviewing" ? read : undefined;
    });
    expect(reviewing.steps[0]).toMatchObject({ state: "running", attempts: 1, review: { state: "reviewing", attempt: 1 } });
    expect((await server.request(`/api/agent/task/${task.id}/cancel`, { method: "POST", token: alice })).status).toBe(200);
    await reviewer.waitForAbort(0);
    const done = await settled(task.id);
    expect(done.state).toBe("canceled");
    expect(done.steps[0]!.state).toBe("canceled");
    expect(done.steps[0]!.output).toBeUndefined();
  });
});

describe("with no reviewer available", () => {
  it("fails the task reviewer_unavailable instead of passing the output unchecked", async () => {
    // bob may use no language model, and the task may use no reviewer agent.
    const worker = await agent("kExecutor:bobs", ["bob_work"], () => ({ body: { output: "unchecked" } }), bob);
    const next = await agent("kExecutor:bobs-next", ["bob_next"], () => ({ body: { output: "never" } }), bob);
    const task = await create(
      {
        goal: "unreviewable",
        plan: { goal: "unreviewable", steps: [{ id: "work", capability: "bob_work", review: true }, { id: "next", capability: "bob_next", dependsOn: ["work"] }] },
        constraints: { agents: ["kExecutor:bobs", "kExecutor:bobs-next"] },
      },
      bob,
    );
    const done = await settled(task.id, bob);
    expect(done.state).toBe("failed");
    expect(done.error).toMatchObject({ code: "reviewer_unavailable" });
    expect(done.steps.map((run) => [run.id, run.state])).toEqual([
      ["work", "failed"],
      ["next", "skipped"],
    ]);
    expect(done.steps[0]!.output).toBeUndefined();
    expect(worker.received).toHaveLength(1);
    expect(next.received).toHaveLength(0);
  });

  it("fails a constraints.review task reviewer_unavailable, without a result", async () => {
    await agent("kExecutor:bobs-result", ["bob_result"], () => ({ body: { output: 42 } }), bob);
    const task = await create({ goal: "answer", plan: { goal: "answer", steps: [{ id: "answer", capability: "bob_result" }] }, constraints: { review: true, agents: ["kExecutor:bobs-result"] } }, bob);
    const done = await settled(task.id, bob);
    expect(done).toMatchObject({ state: "failed", error: { code: "reviewer_unavailable" } });
    expect(done.result).toBeUndefined();
    expect(done.steps[0]!.state).toBe("completed");
  });
});

describe("the node's own kReviewer (a model through the gateway)", () => {
  it("reviews the task's result with the model's verdict, re-asking after an answer that is not one", async () => {
    await agent("kExecutor:facts", ["fact_find"], () => ({ body: { output: { fact: "water boils at 100 °C at sea level" } } }));
    llm.script("I think it is fine.", "```json\n" + JSON.stringify({ approved: true, reasons: ["correct"], score: 1 }) + "\n```");
    const task = await create({ goal: "a fact", plan: { goal: "a fact", steps: [{ id: "fact", capability: "fact_find" }] }, constraints: { review: true, agents: ["kExecutor:facts"] } });
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done)).toBe("completed");
    expect(done.result).toEqual({ fact: { fact: "water boils at 100 °C at sea level" } });
    expect(done.review).toMatchObject({ state: "approved", reviewer: "kReviewer:main (llm)", reasons: ["correct"], score: 1 });
    const chats = llm.chats();
    expect(chats).toHaveLength(2);
    const messages = (chats[0]!.body as { messages: Array<{ role: string; content: string }> }).messages;
    expect(messages[0]!.content).toContain("approved");
    expect(messages[1]!.content).toContain("water boils");
    const progress = (await events(task.id)).filter((event) => event.type === "TASK_PROGRESS").map((event) => event.payload);
    expect(progress.some((payload) => payload.reviewing === "result")).toBe(true);
  });

  it("fails review_rejected when the model rejects a step's output and no retry is left", async () => {
    await agent("kExecutor:guess", ["guess_work"], () => ({ body: { output: "probably 7" } }));
    llm.script(JSON.stringify({ approved: false, reasons: ["a guess, not an answer"], score: 0.1 }));
    const task = await create({ goal: "count", plan: { goal: "count", steps: [{ id: "guess", capability: "guess_work", review: true, retries: 0 }] }, constraints: { agents: ["kExecutor:guess"] } });
    const done = await settled(task.id);
    expect(done).toMatchObject({ state: "failed", error: { code: "review_rejected" } });
    expect(done.steps[0]!.review).toMatchObject({ state: "rejected", reviewer: "kReviewer:main (llm)", reasons: ["a guess, not an answer"] });
  });
});
