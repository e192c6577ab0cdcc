/**
 * The plain-HTTP step dispatcher (http-dispatcher.ts) against real HTTP servers on loopback: what an agent is sent,
 * how each kind of answer maps to an outcome or a stable error code, that a redirect is not followed (the task's data
 * stays with the agent it was meant for), that an oversized answer is refused without reading it, and that an abort
 * (cancel, timeout) closes the agent's connection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Principal } from "../../../auth/principal.js";
import type { Assignee } from "../assignment.js";
import { createHttpDispatcher } from "./http-dispatcher.js";
import { DispatchError, type StepDispatch } from "./step-dispatcher.js";

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

interface Received {
  headers: IncomingMessage["headers"];
  body: unknown;
}

/** A real agent on loopback: `handle` answers each request; what came in is recorded. */
async function agentServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      received.push({ headers: req.headers, body: text ? (JSON.parse(text) as unknown) : undefined });
      handle(req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/step`, received };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};

const principal: Principal = { tokenId: "t", owner: "alice", scopes: ["tasks:run"], expiresAt: Number.MAX_SAFE_INTEGER };
const agentAt = (url: string): Assignee => ({ kind: "agent", id: "kExecutor:test", transport: "http", url, limit: 4 });
const step = (signal: AbortSignal = new AbortController().signal, extra: Partial<StepDispatch> = {}): StepDispatch => ({
  taskId: "task_1",
  planId: "plan_1",
  stepId: "s1",
  capability: "echo",
  input: { n: 1 },
  principal,
  signal,
  ...extra,
});

/** The DispatchError code a dispatch fails with. */
async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(DispatchError);
  return { code: (error as DispatchError).code, message: (error as DispatchError).message };
}

describe("http step dispatcher", () => {
  const dispatcher = createHttpDispatcher();

  it("POSTs the step as JSON and returns the agent's output", async () => {
    const agent = await agentServer((_req, res) => json(res, 200, { output: { done: true } }));
    const outcome = await dispatcher.dispatch(agentAt(agent.url), step(undefined, { answer: "blue" }));
    expect(outcome).toEqual({ kind: "output", output: { done: true } });
    expect(agent.received[0]!.body).toEqual({ taskId: "task_1", planId: "plan_1", stepId: "s1", capability: "echo", input: { n: 1 }, answer: "blue" });
    expect(agent.received[0]!.headers).toMatchObject({ "content-type": "application/json", "x-kai-task-id": "task_1" });
  });

  it("returns a question for {inputRequired: {prompt}}", async () => {
    const agent = await agentServer((_req, res) => json(res, 200, { inputRequired: { prompt: "which colour?" } }));
    expect(await dispatcher.dispatch(agentAt(agent.url), step())).toEqual({ kind: "input-required", prompt: "which colour?" });
  });

  it("fails agent_error on a non-2xx answer, with the agent's short message", async () => {
    const agent = await agentServer((_req, res) => json(res, 503, { error: { message: "overloaded" } }));
    expect(await failure(dispatcher.dispatch(agentAt(agent.url), step()))).toEqual({ code: "agent_error", message: "kExecutor:test answered 503: overloaded" });
  });

  it("fails agent_bad_answer on an answer that is not JSON, or neither {output} nor {inputRequired}", async () => {
    const text = await agentServer((_req, res) => res.end("<html>hello</html>"));
    expect((await failure(dispatcher.dispatch(agentAt(text.url), step()))).code).toBe("agent_bad_answer");
    const other = await agentServer((_req, res) => json(res, 200, { result: 1 }));
    expect((await failure(dispatcher.dispatch(agentAt(other.url), step()))).code).toBe("agent_bad_answer");
  });

  it("does not follow a redirect: the step's data never reaches where it points", async () => {
    const elsewhere = await agentServer((_req, res) => json(res, 200, { output: "leaked" }));
    const agent = await agentServer((_req, res) => {
      res.writeHead(307, { location: elsewhere.url });
      res.end();
    });
    expect(await failure(dispatcher.dispatch(agentAt(agent.url), step()))).toMatchObject({ code: "agent_error", message: "kExecutor:test answered 307" });
    expect(elsewhere.received).toHaveLength(0);
  });

  it("refuses an answer announced larger than 8 MiB without reading it", async () => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const agent = await agentServer((req, res) => {
      req.socket.on("close", closed);
      res.writeHead(200, { "content-type": "application/json", "content-length": String(9 * 1024 * 1024) });
      res.write('{"output":"');
    });
    expect((await failure(dispatcher.dispatch(agentAt(agent.url), step()))).code).toBe("agent_bad_answer");
    await connectionClosed;
  });

  it("refuses an unannounced answer as soon as it passes 8 MiB, and drops the connection", async () => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const agent = await agentServer((req, res) => {
      req.socket.on("close", closed);
      res.writeHead(200, { "content-type": "application/json" }); // chunked: no length announced
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      // Written as the socket takes it; stops once the node drops the connection.
      const more = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once("drain", more);
      };
      more();
    });
    expect(await failure(dispatcher.dispatch(agentAt(agent.url), step()))).toMatchObject({ code: "agent_bad_answer", message: "kExecutor:test answered more than 8388608 bytes" });
    await connectionClosed;
  });

  it("an answer that breaks off is the agent's failure: agent_bad_answer after a 2xx status, agent_error after another", async () => {
    const broken = (status: number) => (req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(status, { "content-type": "application/json", "content-length": "100" });
      res.write('{"output":');
      setImmediate(() => req.socket.destroy());
    };
    const ok = await agentServer(broken(200));
    expect((await failure(dispatcher.dispatch(agentAt(ok.url), step()))).code).toBe("agent_bad_answer");
    const refused = await agentServer(broken(500));
    expect((await failure(dispatcher.dispatch(agentAt(refused.url), step()))).code).toBe("agent_error");
  });

  it("fails agent_unreachable when nothing listens", async () => {
    const agent = await agentServer(() => undefined);
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect((await failure(dispatcher.dispatch(agentAt(agent.url), step()))).code).toBe("agent_unreachable");
  });

  it("an abort rejects with its reason and closes the agent's connection", async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const agent = await agentServer((req) => {
      req.socket.on("close", closed);
      arrived();
    });
    const controller = new AbortController();
    const pending = dispatcher.dispatch(agentAt(agent.url), step(controller.signal));
    await requestArrived;
    const reason = new DispatchError("step_timeout", "no answer within 10 ms");
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await connectionClosed;
  });
});
