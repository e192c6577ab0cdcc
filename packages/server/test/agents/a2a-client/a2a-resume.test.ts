/**
 * The A2A dispatcher's handle on a waiting remote task (issue 16, round 3), against a real agent made with the
 * OFFICIAL A2A JS SDK (sdk-agent.ts): an input-required outcome carries a `resume` handle; a NEW dispatcher (as after
 * a node restart: nothing in memory) given that handle sends the answer to the same remote task; `abandon` sends
 * CancelTask to a remote task that waits; a handle the agent no longer knows starts the step over as a new task.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "@a2a-js/sdk";
import { ClientFactory, ClientFactoryOptions, type Client } from "@a2a-js/sdk/client";
import type { Principal } from "../../../src/auth/principal.js";
import type { Assignee } from "../../../src/agents/kcore/assignment.js";
import { a2aResumeOf, createA2aDispatcher, type A2aStepDispatch } from "../../../src/agents/kcore/dispatch/a2a-dispatcher.js";
import { SdkA2aAgent } from "./sdk-agent.js";

let agent: SdkA2aAgent;
let client: Client;
const ID = "kA2a:resume-agent";
const assignee: Assignee = { kind: "agent", id: ID, transport: "a2a", limit: 4 };
const principal: Principal = { tokenId: "t", owner: "alice", scopes: ["tasks:run"], expiresAt: Number.MAX_SAFE_INTEGER };
const source = { clientFor: async () => client };

function step(overrides: Partial<A2aStepDispatch> = {}): A2aStepDispatch {
  return { taskId: "task_1", planId: "plan_1", stepId: "main", capability: "book_trip", input: { kind: "ask" }, principal, signal: new AbortController().signal, ...overrides };
}

beforeAll(async () => {
  agent = await SdkA2aAgent.start({ name: "Resume Agent" });
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { preferredTransports: ["JSONRPC"] }));
  client = await factory.createFromAgentCard(agent.card());
});
afterAll(async () => {
  await agent?.close();
});

describe("a remote task waiting for input", () => {
  it("is continued after a restart: a new dispatcher given the stored handle answers the same remote task", async () => {
    const asked = await createA2aDispatcher(source).dispatch(assignee, step());
    expect(asked).toMatchObject({ kind: "input-required", prompt: "Which city?" });
    const resume = a2aResumeOf(asked.resume);
    expect(resume).toMatchObject({ transport: "a2a", agentId: ID });
    // The handle is what kCore stores: it survives JSON.
    const stored: unknown = JSON.parse(JSON.stringify(asked.resume));

    const restarted = createA2aDispatcher(source);
    const done = await restarted.dispatch(assignee, step({ answer: "Lisbon", resume: stored }));
    expect(done).toEqual({ kind: "output", output: { booked: "Lisbon" } });
    expect(agent.executor.received.at(-1)!.taskId).toBe(resume!.taskId);
    expect(agent.executor.tasks.at(-1)).toBe(resume!.taskId);
  });

  it("is canceled on the agent when the step is abandoned (its task canceled while it waits)", async () => {
    const asked = await createA2aDispatcher(source).dispatch(assignee, step({ taskId: "task_2" }));
    const resume = a2aResumeOf(asked.resume)!;
    await createA2aDispatcher(source).abandon(JSON.parse(JSON.stringify(asked.resume)));
    const remote = await client.getTask({ tenant: "", id: resume.taskId, historyLength: undefined });
    expect(remote.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    // Not one of ours, or malformed: nothing is sent.
    await expect(createA2aDispatcher(source).abandon({ transport: "klp", agentId: ID, taskId: resume.taskId, contextId: "c" })).resolves.toBeUndefined();
    await expect(createA2aDispatcher(source).abandon({ transport: "a2a", agentId: 5 })).resolves.toBeUndefined();
  });

  it("starts over as a new remote task, with the answer in its input, when the agent no longer knows the stored one", async () => {
    const before = agent.executor.received.length;
    const stale = { transport: "a2a", agentId: ID, taskId: "no-such-task", contextId: "no-such-context" };
    const outcome = await createA2aDispatcher(source).dispatch(assignee, step({ taskId: "task_3", answer: "Porto", resume: stale }));
    // The test agent asks again for a new `ask` task: what matters is that a new task was made with the answer.
    expect(outcome.kind).toBe("input-required");
    expect(a2aResumeOf(outcome.resume)!.taskId).not.toBe("no-such-task");
    const sent = agent.executor.received.slice(before);
    expect(sent).toHaveLength(1);
    expect(JSON.stringify(sent[0]!.parts)).toContain("Porto");
  });

  it("ignores a handle for another agent: the answer goes with the step's input to a new task", async () => {
    const asked = await createA2aDispatcher(source).dispatch(assignee, step({ taskId: "task_4" }));
    const other = { ...(asked.resume as object), agentId: "kA2a:someone-else" };
    const outcome = await createA2aDispatcher(source).dispatch(assignee, step({ taskId: "task_4", answer: "Faro", resume: other }));
    expect(a2aResumeOf(outcome.resume)!.taskId).not.toBe(a2aResumeOf(asked.resume)!.taskId);
  });
});
