/**
 * Agents over KLP through a real node: agents are child processes built with the SDK's agent runtime
 * (`@kai/sdk/agent`), registered by their own signed manifests and pinned to the node's DID. A three-step plan
 * across two KLP agents and a gateway capability (the fake OpenAI server); an agent SIGKILLed mid-step, whose step
 * goes to the other agent; forged and unsigned task requests refused by the agent (a signed `error`, the handler
 * never runs); and answers not signed by the agent's registered key refused by the node (`agent_bad_answer`).
 */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp, signAgentManifest, TaskSchema, TERMINAL_TASK_STATES, type CreateTaskRequestInput, type Task } from "@kai/protocol";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../../helpers/test-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../../gateway/fakes/openai-fake.js";
import { ANSWER, type FakeUpstream } from "../../gateway/fakes/fake-server.js";
import { createClient } from "@kai/sdk";
import { createKlpAgent } from "../../../../sdk/src/agent-runtime/index.js";
import { AgentProcess } from "./agent-process.js";

let server: TestServer;
let llm: FakeUpstream;
let alice: string;
let nodeDid: string;
let fetcher: AgentProcess;
let writer: AgentProcess;
let doomed: AgentProcess;
let spare: AgentProcess;
const processes: AgentProcess[] = [];
const httpServers: Server[] = [];

async function create(body: CreateTaskRequestInput): Promise<Task> {
  const response = await server.request("/api/agent/task", { method: "POST", json: body, token: alice });
  const text = await response.text();
  expect(response.status, text).toBe(202);
  return TaskSchema.parse((JSON.parse(text) as { task: unknown }).task);
}

async function settled(id: string): Promise<Task> {
  return eventually(async () => {
    const response = await server.request(`/api/agent/task/${id}`, { token: alice });
    const task = TaskSchema.parse(((await response.json()) as { task: unknown }).task);
    return TERMINAL_TASK_STATES.includes(task.state) ? task : undefined;
  }, 20_000);
}

async function agent(id: string, skills: string[], behaviour: "echo" | "hang" = "echo"): Promise<AgentProcess> {
  const started = await AgentProcess.start({ id, skills, url: server.url, token: alice, behaviour });
  processes.push(started);
  return started;
}

beforeAll(async () => {
  llm = await startOpenAIFake();
  server = await startTestServer({ config: { rateLimit: { enabled: false } } });
  alice = await mintToken(server, ["tasks:run", "agents:read", "agents:write", "services:heartbeat"], "alice");
  nodeDid = ((await (await server.request("/.well-known/klp.json", { token: null })).json()) as { did: string }).did;
  const response = await server.request("/api/services/register", {
    method: "POST",
    json: registration({ id: "llm", provider: "openai", url: llm.url, capabilities: ["llm_chat"], owner: "alice", visibility: "private" }),
  });
  expect(response.status, await response.text()).toBe(201);
  // The agent processes start in parallel (each loads TypeScript through tsx).
  [fetcher, writer, doomed, spare] = await Promise.all([
    agent("kExecutor:fetcher", ["web_fetch"]),
    agent("kWriter:main", ["text_combine", "wait_for_cancel"]),
    agent("kExecutor:doomed", ["long_work"], "hang"),
    agent("kExecutor:spare", ["long_work"]),
  ]);
  await eventually(async () => {
    const models = await server.request("/v1/models?capability=llm_chat");
    return models.ok && ((await models.json()) as { data: { id: string }[] }).data.some((model) => model.id.endsWith(OPENAI_MODEL));
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(processes.map((started) => started.close()));
  for (const http of httpServers) await new Promise((resolve) => http.close(resolve));
  await server?.dispose();
  await llm?.close();
});

describe("KLP agents as processes", () => {
  it("register themselves with their own DID and pin the node's", async () => {
    expect(fetcher.lines.find((line) => line.event === "ready")?.nodeDid).toBe(nodeDid);
    const record = await (await server.request("/api/agents/kExecutor:fetcher", { token: alice })).json();
    expect(record).toMatchObject({ type: "agent", url: fetcher.url, metadata: { agent: { transport: "klp", did: fetcher.did } } });
  });

  it("run a three-step plan across two KLP agents and a gateway capability", async () => {
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
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done.steps)).toBe("completed");
    expect(done.result).toEqual({ combine: { summary: `page at https://example.org/ + ${ANSWER}`, by: "kWriter:main" } });
    expect(done.steps.map((step) => [step.id, step.state, step.assignee])).toEqual([
      ["fetch", "completed", "kExecutor:fetcher"],
      ["ask", "completed", "llm"],
      ["combine", "completed", "kWriter:main"],
    ]);
    expect(fetcher.lines).toContainEqual({ event: "step", capability: "web_fetch", taskId: task.id, stepId: "fetch" });
    expect(writer.lines).toContainEqual({ event: "step", capability: "text_combine", taskId: task.id, stepId: "combine" });
    // The agents' signed progress reports became the task's TASK_PROGRESS events, from the agent that sent them.
    const events = await server.mesh.taskEvents.eventsAfter(task.id, 0, 1000);
    expect(events).toContainEqual(expect.objectContaining({ type: "TASK_PROGRESS", agent: "kExecutor:fetcher", payload: expect.objectContaining({ step: "fetch", stepState: "running", progress: 0.5 }) }));
  });

  it("gives the step of an agent killed mid-step (SIGKILL) to another agent, and the task completes", async () => {
    const task = await create({ goal: "long work", agent: "kExecutor:doomed", capability: "long_work", input: { n: 1 } });
    await doomed.waitFor((line) => line.event === "step" && line.taskId === task.id);
    doomed.kill();
    const done = await settled(task.id);
    expect(done.state, JSON.stringify(done.steps)).toBe("completed");
    expect(done.steps[0]).toMatchObject({ state: "completed", assignee: "kExecutor:spare", attempts: 2 });
    expect(Object.values(done.result as object)[0]).toEqual({ by: "kExecutor:spare", input: { n: 1 } });
    expect(spare.lines.filter((line) => line.event === "step")).toHaveLength(1);
  });
});

describe("cancel", () => {
  it("reaches the KLP agent: the handler's signal aborts and the task ends canceled", async () => {
    const task = await create({ goal: "wait", agent: "kWriter:main", capability: "wait_for_cancel", input: {} });
    await writer.waitFor((line) => line.event === "step" && line.taskId === task.id);
    const response = await server.request(`/api/agent/task/${task.id}/cancel`, { method: "POST", token: alice });
    expect(response.status, await response.text()).toBe(200);
    await writer.waitFor((line) => line.event === "aborted" && line.taskId === task.id);
    expect((await settled(task.id)).state).toBe("canceled");
  });
});

describe("input-required over KLP", () => {
  it("asks the task's owner, and runs the step again on the same agent with the answer", async () => {
    // In-process (no child needed here): the same runtime, started from this test.
    const asker = createKlpAgent({
      client: createClient({ url: server.url, token: alice }),
      key: klp.generateKeyPair(),
      manifest: { id: "kAsker:main", name: "asker", skills: [{ id: "colour", name: "colour", capability: "pick_colour" }] },
      handlers: { pick_colour: (_input, step) => (step.answer === undefined ? step.inputRequired("Which colour?") : { colour: step.answer }) },
    });
    await asker.start();
    try {
      const task = await create({ goal: "paint", agent: "kAsker:main", capability: "pick_colour", input: {} });
      const waiting = await eventually(async () => {
        const response = await server.request(`/api/agent/task/${task.id}`, { token: alice });
        const current = TaskSchema.parse(((await response.json()) as { task: unknown }).task);
        return current.state === "input-required" ? current : undefined;
      }, 15_000);
      expect(waiting.steps[0]).toMatchObject({ state: "input-required" });
      const answered = await server.request(`/api/agent/task/${task.id}/answer`, { method: "POST", json: { answer: "blue" }, token: alice });
      expect(answered.status, await answered.text()).toBe(200);
      const done = await settled(task.id);
      expect(done.state).toBe("completed");
      expect(Object.values(done.result as object)[0]).toEqual({ colour: "blue" });
    } finally {
      await asker.stop();
    }
  });
});

describe("forged task requests", () => {
  const attacker = klp.generateKeyPair();

  async function send(envelope: Record<string, unknown>): Promise<{ status: number; reply: klp.KlpEnvelope }> {
    const response = await fetch(`${fetcher.url}/klp/message`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(envelope) });
    return { status: response.status, reply: (await response.json()) as klp.KlpEnvelope };
  }

  const request = (taskId: string, from: string) => ({
    protocol: klp.KLP_PROTOCOL,
    id: klp.newMessageId(),
    type: "task_request" as const,
    from,
    to: fetcher.did,
    timestamp: new Date().toISOString(),
    payload: { taskId, capability: "web_fetch", parameters: { url: "https://evil.example/" } },
  });

  it("runs a request signed by the node once, and refuses the same request replayed", async () => {
    const genuine = klp.createEnvelope({ type: "task_request", to: fetcher.did, payload: { taskId: "replayed-once", capability: "web_fetch", parameters: { url: "https://example.org/" } } }, server.klp.identity);
    const first = await fetch(`${fetcher.url}/klp/message`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(genuine) });
    expect(first.status).toBe(200);
    const answers = (await first.text()).trim().split("\n").map((line) => JSON.parse(line) as klp.KlpEnvelope);
    expect(answers.at(-1)).toMatchObject({ type: "task_result", from: fetcher.did, to: nodeDid, metadata: { correlationId: genuine.id }, payload: { status: "success" } });
    const again = await send(genuine);
    expect([again.status, (again.reply.payload as { code: string }).code]).toEqual([409, "KLP_REPLAY"]);
    expect(fetcher.lines.filter((line) => line.event === "step" && line.taskId === "replayed-once")).toHaveLength(1);
  });

  it("refuses an unsigned request, one signed by another key, and one claiming the node's DID with another key's signature", async () => {
    const unsigned = await send(request("forged-unsigned", nodeDid));
    const otherKey = await send(klp.signEnvelope(request("forged-other-key", attacker.did), attacker));
    const claimed = request("forged-claimed", nodeDid);
    const impersonated = await send({ ...claimed, signature: klp.toBase64Url(klp.signBytes(attacker.secretKey, klp.signingInput(claimed))) });

    expect([unsigned, otherKey, impersonated].map(({ status, reply }) => [status, (reply.payload as { code: string }).code])).toEqual([
      [400, "KLP_MALFORMED"],
      [403, "KLP_UNAUTHORIZED"],
      [401, "KLP_BAD_SIGNATURE"],
    ]);
    // Each refusal is itself signed by the agent.
    for (const { reply } of [unsigned, otherKey, impersonated]) {
      expect(reply).toMatchObject({ type: "error", from: fetcher.did });
      expect(klp.verifyEnvelope(reply as unknown as Record<string, unknown>)).toBe(true);
    }
    await fetcher.waitFor((line) => line.event === "refused" && line.code === "KLP_BAD_SIGNATURE");
    expect(fetcher.lines.filter((line) => line.event === "step" && String(line.taskId).startsWith("forged"))).toEqual([]);
  });
});

describe("answers not signed by the agent's key", () => {
  it("are refused by the node as agent_bad_answer: another key, a forged signature, no signature", async () => {
    const registered = klp.generateKeyPair();
    const other = klp.generateKeyPair();
    let mode: "other-key" | "forged" | "unsigned" = "other-key";
    const http = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        const received = JSON.parse(body) as klp.KlpEnvelope;
        const answer = {
          protocol: klp.KLP_PROTOCOL,
          id: klp.newMessageId(),
          type: "task_result" as const,
          from: mode === "other-key" ? other.did : registered.did,
          to: nodeDid,
          timestamp: new Date().toISOString(),
          payload: { taskId: (received.payload as { taskId: string }).taskId, status: "success" as const, result: "trust me" },
          metadata: { correlationId: received.id },
        };
        const signed =
          mode === "other-key"
            ? klp.signEnvelope(answer, other)
            : mode === "forged"
              ? { ...answer, signature: klp.toBase64Url(klp.signBytes(other.secretKey, klp.signingInput(answer))) }
              : answer;
        res.writeHead(200, { "content-type": "application/x-ndjson" }).end(`${JSON.stringify(signed)}\n`);
      });
    });
    httpServers.push(http);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const address = http.address() as { port: number };
    const manifest = signAgentManifest(
      { id: "kExecutor:imposter", name: "imposter", skills: [{ id: "claim", name: "claim", capability: "claim_work" }], endpoint: { transport: "klp", url: `http://127.0.0.1:${address.port}` } },
      registered,
    );
    const response = await server.request("/api/agents", { method: "POST", json: manifest, token: alice });
    expect(response.status, await response.text()).toBe(201);

    const refusedAs = { "other-key": "KLP_UNKNOWN_SENDER", forged: "KLP_BAD_SIGNATURE", unsigned: "KLP_MALFORMED" };
    for (const next of ["other-key", "forged", "unsigned"] as const) {
      mode = next;
      const task = await create({ goal: `claim (${next})`, plan: { goal: "claim", steps: [{ id: "claim", capability: "claim_work", agent: "kExecutor:imposter", retries: 0 }] } });
      const done = await settled(task.id);
      expect(done.state, next).toBe("failed");
      expect(done.steps[0]!.error, next).toMatchObject({ code: "agent_bad_answer" });
      expect(done.steps[0]!.error!.message, next).toContain(refusedAs[next]);
      expect(done.result, next).toBeUndefined();
    }
  });
});
