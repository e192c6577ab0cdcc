/**
 * Distributed tracing across two real nodes (issue 19, docs/operations/tracing.md), exported over OTLP/HTTP to a real
 * receiver the test starts (test/helpers/otlp-receiver.ts: OTLP/JSON as the specification defines it; the Collector
 * itself is a Go binary this machine cannot install). Node A routes a model to node B's gateway (B is A's upstream
 * provider), B routes it to the OpenAI fake:
 * - a caller's `traceparent` on A's front door: A's request span is its child, A's attempt span the child of that,
 *   B's request span the child of A's attempt (A sent its `traceparent`), B's attempt the child of that, and the fake
 *   received a `traceparent` of the same trace naming B's attempt as parent; A's log lines carry the trace id;
 * - task steps on A (the task created with a caller `traceparent`) are spans under the create request: a gateway
 *   step's call reaches B and the fake in the same trace, an agent step's HTTP dispatch carries its `traceparent`;
 * - a KLP request from A to B over HTTP: A's `klp.send` span is the parent of B's request and `klp.receive` spans.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { klp, signAgentManifest } from "@kai/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../helpers/otlp-receiver.js";
import { OPENAI_MODEL, startOpenAIFake } from "../gateway/fakes/openai-fake.js";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";
import { taskReaching } from "../helpers/tasks.js";

let receiver: OtlpReceiver;
let fake: FakeUpstream;
let a: TestServer;
let b: TestServer;
let callerOnA: string;
let bToken: string;
let agent: { url: string; headers: IncomingHttpHeaders[]; close(): Promise<void> };

/** An agent over kCore's HTTP transport that answers every step and keeps the headers it was sent. */
async function startAgent(): Promise<typeof agent> {
  const headers: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    headers.push(request.headers);
    request.resume();
    request.on("end", () => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ output: { noted: true } })));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/step`,
    headers,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** What the caller's own tracing would send: a fresh trace, its span as the parent, sampled. */
function callerTraceparent(): { header: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { header: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

const tracingOf = (name: string) => ({ enabled: true, otlpEndpoint: receiver.url, serviceName: name });
// The standard batch delay variable: spans are exported within 50 ms instead of 5 s.
const env = { OTEL_BSP_SCHEDULE_DELAY: "50" };

/** The spans of one trace once `count` of them (at least) have arrived. */
function traceSpans(traceId: string, count: number): Promise<ReceivedSpan[]> {
  return eventually(async () => {
    const spans = receiver.spans.filter((span) => span.traceId === traceId);
    return spans.length >= count ? spans : undefined;
  }, 10_000);
}

/** The one span matching, failing with what arrived otherwise. */
function only(spans: ReceivedSpan[], match: (span: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.filter(match);
  expect(found, `${what} among ${JSON.stringify(spans.map((span) => [span.serviceName, span.name, span.spanId, span.parentSpanId]))}`).toHaveLength(1);
  return found[0]!;
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  fake = await startOpenAIFake();
  [a, b] = await Promise.all([
    startTestServer({ config: { rateLimit: { enabled: false }, tracing: tracingOf("kai-a") }, env }),
    startTestServer({ config: { rateLimit: { enabled: false }, tracing: tracingOf("kai-b") }, env }),
  ]);
  // B serves the model from the fake; A serves it through B's OpenAI-compatible front door, with a token of B.
  expect((await b.request("/api/services/register", { method: "POST", json: registration({ id: "model-on-b", provider: "openai", url: fake.url, capabilities: ["llm_chat"], metadata: { models: [OPENAI_MODEL] } }) })).status).toBe(201);
  bToken = await mintToken(b, ["gateway:invoke"], "node-a");
  expect(
    (await a.request("/api/services/register", { method: "POST", json: registration({ id: "b-gateway", provider: "openai", url: `${b.url}/v1`, capabilities: ["llm_chat"], auth: { type: "bearer_token", token: bToken }, metadata: { models: [OPENAI_MODEL] } }) })).status,
  ).toBe(201);
  callerOnA = await mintToken(a, ["gateway:invoke", "tasks:run", "agents:read", "agents:write"], "alice");
  agent = await startAgent();
  const manifest = signAgentManifest(
    { id: "kExecutor:notes", name: "notes", skills: [{ id: "s0", name: "note_take", capability: "note_take" }], endpoint: { transport: "http", url: agent.url }, limits: { maxConcurrentTasks: 4, stepTimeoutMs: 30_000 } },
    klp.generateKeyPair(),
  );
  expect((await a.request("/api/agents", { method: "POST", json: manifest, token: callerOnA })).status).toBe(201);
});
afterAll(async () => {
  await Promise.all([a?.dispose(), b?.dispose()]);
  await agent?.close();
  await fake?.close();
  await receiver?.close();
});

describe("tracing across two nodes", () => {
  it("continues a caller's trace through A's gateway, B's gateway and the provider, with the right parents", async () => {
    const caller = callerTraceparent();
    const response = await a.request("/v1/chat/completions", {
      method: "POST",
      token: callerOnA,
      headers: { traceparent: caller.header },
      json: { model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] },
    });
    expect(response.status, await response.clone().text()).toBe(200);

    const spans = await traceSpans(caller.traceId, 4);
    const aRequest = only(spans, (span) => span.serviceName === "kai-a" && span.name === "POST /v1/chat/completions", "A's request span");
    const aAttempt = only(spans, (span) => span.serviceName === "kai-a" && span.name === "gateway.attempt", "A's attempt span");
    const bRequest = only(spans, (span) => span.serviceName === "kai-b" && span.name === "POST /v1/chat/completions", "B's request span");
    const bAttempt = only(spans, (span) => span.serviceName === "kai-b" && span.name === "gateway.attempt", "B's attempt span");
    expect(aRequest.parentSpanId).toBe(caller.spanId);
    expect(aRequest).toMatchObject({ kind: 2, attributes: { "http.route": "/v1/chat/completions", "http.response.status_code": 200 } });
    expect(aAttempt.parentSpanId).toBe(aRequest.spanId);
    expect(aAttempt.attributes).toMatchObject({ "kai.service_id": "b-gateway", "kai.provider": "openai", "kai.attempt": 1 });
    expect(bRequest.parentSpanId).toBe(aAttempt.spanId);
    expect(bAttempt.parentSpanId).toBe(bRequest.spanId);
    expect(bAttempt.attributes).toMatchObject({ "kai.service_id": "model-on-b" });
    // Two nodes, two resources.
    expect(aRequest.serviceInstanceId).not.toBe(bRequest.serviceInstanceId);

    // The provider was told the trace, with B's attempt as the parent.
    const upstream = fake.last("/v1/chat/completions");
    expect(upstream?.headers.traceparent).toBe(`00-${caller.traceId}-${bAttempt.spanId}-01`);

    // A's lines written inside the request carry its trace id; so does the request's own line.
    const requestLine = a.logs.find((line) => line.includes('"msg":"request"') && line.includes(`"requestId":"${response.headers.get("x-request-id")}"`));
    expect(requestLine).toContain(`"trace_id":"${caller.traceId}"`);
    expect(receiver.rejected).toEqual([]);
    // No credential leaves a node in a span: neither the caller's token nor the one A holds for B.
    const exported = JSON.stringify(receiver.spans);
    expect(exported).not.toContain(callerOnA);
    expect(exported).not.toContain(bToken);
  });

  it("task steps are spans under the request that created the task; a gateway step reaches B, an agent step the agent, in the same trace", async () => {
    const caller = callerTraceparent();
    const response = await a.request("/api/agent/task", {
      method: "POST",
      token: callerOnA,
      headers: { traceparent: caller.header },
      json: {
        goal: "ask, note",
        plan: {
          goal: "ask, note",
          steps: [
            { id: "ask", capability: "llm_chat", input: { model: OPENAI_MODEL, messages: [{ role: "user", content: "hi" }] } },
            { id: "note", capability: "note_take", dependsOn: ["ask"], input: { text: "noted" } },
          ],
        },
      },
    });
    expect(response.status, await response.clone().text()).toBe(202);
    const { task } = (await response.json()) as { task: { id: string } };
    const done = await taskReaching(a, callerOnA, task.id);
    expect(done.state, JSON.stringify(done)).toBe("completed");

    const spans = await traceSpans(caller.traceId, 6);
    const create = only(spans, (span) => span.serviceName === "kai-a" && span.name === "POST /api/agent/task", "A's create request span");
    const step = only(spans, (span) => span.name === "task.step" && span.attributes["kai.step_id"] === "ask", "the gateway step's span");
    const noteStep = only(spans, (span) => span.name === "task.step" && span.attributes["kai.step_id"] === "note", "the agent step's span");
    expect(noteStep.parentSpanId).toBe(create.spanId);
    expect(noteStep.attributes["kai.assignee"]).toBe("kExecutor:notes");
    // The agent was told the trace, with its step's span as the parent.
    expect(agent.headers.at(-1)?.traceparent).toBe(`00-${caller.traceId}-${noteStep.spanId}-01`);
    const attempt = only(spans, (span) => span.serviceName === "kai-a" && span.name === "gateway.attempt", "A's attempt span");
    const bRequest = only(spans, (span) => span.serviceName === "kai-b" && span.name === "POST /v1/chat/completions", "B's request span");
    expect(create.parentSpanId).toBe(caller.spanId);
    expect(step.parentSpanId).toBe(create.spanId);
    expect(step.attributes).toMatchObject({ "kai.task_id": task.id, "kai.step_id": "ask", "kai.capability": "llm_chat" });
    expect(attempt.parentSpanId).toBe(step.spanId);
    expect(bRequest.parentSpanId).toBe(attempt.spanId);
    expect(fake.last("/v1/chat/completions")?.headers.traceparent).toMatch(new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`));
  });

  it("a KLP request from A to B: B's spans are children of A's klp.send", async () => {
    const session = await a.klp.connect(b.url, "http");
    try {
      await session.discover({});
    } finally {
      await session.close();
    }
    const send = await eventually(async () => receiver.spans.find((span) => span.serviceName === "kai-a" && span.name === "klp.send" && span.attributes["klp.type"] === "service_discovery"), 10_000);
    const spans = await traceSpans(send.traceId, 3);
    const bRequest = only(spans, (span) => span.serviceName === "kai-b" && span.name === "POST /klp/message", "B's request span");
    const bReceive = only(spans, (span) => span.serviceName === "kai-b" && span.name === "klp.receive", "B's klp.receive span");
    expect(send.kind).toBe(3);
    expect(send.attributes["klp.peer"]).toBe(b.klp.did);
    expect(bRequest.parentSpanId).toBe(send.spanId);
    expect(bReceive.parentSpanId).toBe(bRequest.spanId);
    expect(bReceive.attributes).toMatchObject({ "klp.type": "service_discovery", "klp.from": a.klp.did });
  });
});
