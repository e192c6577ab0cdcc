/**
 * `client.tasks` against a real node and a small real HTTP agent (a node:http server registered by a signed
 * manifest): create, wait, get, list, input-required then answer, cancel, and the API's refusals as KaiApiErrors
 * (409 task_not_waiting, 404 for another owner's task).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp, signAgentManifest } from "@kai/protocol";
import { KaiApiError, type KaiClient } from "@kai/sdk";
import { startRegistry, type RegistryFixture } from "./helpers/registry-server.js";
import { HttpAgent } from "../../server/test/agents/kcore/http-agent.js";

let registry: RegistryFixture;
let alice: KaiClient;
let agent: HttpAgent;

beforeAll(async () => {
  registry = await startRegistry({ rateLimit: { enabled: false } });
  alice = await registry.clientWith(["tasks:run", "agents:read", "agents:write"], "alice");
  agent = await HttpAgent.start("kExecutor:sdk", (step) => {
    if (step.input.hang) return "hang";
    if (step.input.ask && step.answer === undefined) return { body: { inputRequired: { prompt: "How many?" } } };
    return { body: { output: { echo: step.input, answer: step.answer ?? null } } };
  });
  await alice.agents.register(
    signAgentManifest({ id: "kExecutor:sdk", name: "sdk agent", skills: [{ id: "echo", name: "echo", capability: "sdk_echo" }], endpoint: { transport: "http", url: agent.url } }, klp.generateKeyPair()),
  );
});
afterAll(async () => {
  await registry?.close();
  await agent?.close();
});

describe("client.tasks", () => {
  it("creates a task, waits for it, and reads and lists it", async () => {
    const created = await alice.tasks.create({ goal: "echo", agent: "kExecutor:sdk", input: { n: 1 } });
    expect(created.state).toBe("submitted");
    const done = await alice.tasks.wait(created.id, { intervalMs: 50 });
    expect(done).toMatchObject({ state: "completed", result: { main: { echo: { n: 1 }, answer: null } } });
    expect((await alice.tasks.get(created.id)).state).toBe("completed");
    const page = await alice.tasks.list({ state: "completed" });
    expect(page.tasks.map((task) => task.id)).toContain(created.id);
  });

  it("answers an input-required question, and refuses an answer to a task not waiting", async () => {
    const created = await alice.tasks.create({ goal: "ask", agent: "kExecutor:sdk", input: { ask: true } });
    const waiting = await alice.tasks.wait(created.id, { intervalMs: 50 });
    expect(waiting).toMatchObject({ state: "input-required", question: { step: "main", prompt: "How many?" } });
    await alice.tasks.answer(created.id, 3);
    const done = await alice.tasks.wait(created.id, { intervalMs: 50 });
    expect(done.result).toEqual({ main: { echo: { ask: true }, answer: 3 } });
    const error = await alice.tasks.answer(created.id, 4).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KaiApiError);
    expect(error).toMatchObject({ status: 409, code: "task_not_waiting" });
  });

  it("cancels a running task, and hides it from another owner", async () => {
    const before = agent.received.length;
    const created = await alice.tasks.create({ goal: "hang", agent: "kExecutor:sdk", input: { hang: true } });
    await agent.waitForSteps(before + 1);
    const canceled = await alice.tasks.cancel(created.id);
    expect(canceled.state).toBe("canceled");
    const bob = await registry.clientWith(["tasks:run", "agents:read"], "bob");
    const error = await bob.tasks.get(created.id).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 404, code: "not_found" });
  });
});
