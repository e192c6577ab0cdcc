// Runs the shared connector contract for the n8n connector against its fake, plus webhook runs (JSON and
// text answers, GET with query input, test webhooks, unknown and failing workflows), cursor pagination of
// the workflow list, and that the API key never reaches a webhook.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UNSAFE_TO_RETRY } from "../../src/gateway/router/operations.js";
import { n8nConnector } from "../../src/gateway/connectors/n8n/index.js";
import { describeConnectorContract } from "./connector-contract.js";
import type { FakeUpstream } from "./fakes/fake-server.js";
import { N8N_WORKFLOWS, startN8nFake } from "./fakes/n8n-fake.js";

describeConnectorContract("n8n", {
  connector: n8nConnector,
  start: (credential) => startN8nFake({ requireKey: credential }),
  expectedModels: [],
  probe: { path: "/api/v1/workflows", call: (context) => n8nConnector.listWorkflows!(context) },
  notFound: { call: (context) => n8nConnector.runWorkflow!({ workflow: "no-such-hook" }, context), code: "upstream_not_found" },
  checkAuth: (headers, credential) => expect(headers["x-n8n-api-key"]).toBe(credential),
});

describe("n8n specifics", () => {
  const KEY = "n8n_api_0123456789abcdef";
  let fake: FakeUpstream;
  const ctx = (headers?: Record<string, string>) => ({ target: { baseUrl: fake.url, credential: KEY, ...(headers ? { headers } : {}) } });
  beforeAll(async () => {
    fake = await startN8nFake({ requireKey: KEY, maxPage: 2 });
  });
  afterAll(async () => {
    await fake.close();
  });

  it("runs a workflow through its webhook with the input as JSON body and returns its JSON answer", async () => {
    const result = await n8nConnector.runWorkflow!({ workflow: "greet", input: { name: "Ada" } }, ctx());
    expect(result.data).toEqual({ status: 200, contentType: "application/json", output: { greeting: "hello Ada", test: false } });
    expect(fake.last("/webhook/greet")?.body).toEqual({ name: "Ada" });
    expect(result.latencyMs).toBeGreaterThan(0);
  });

  it("never sends the API key to a webhook, but does send the service's webhook auth header", async () => {
    await n8nConnector.runWorkflow!({ workflow: "greet", input: {} }, ctx({ "x-webhook-auth": "hook-secret" }));
    const headers = fake.last("/webhook/greet")!.headers;
    expect(headers["x-n8n-api-key"]).toBeUndefined();
    expect(headers.authorization).toBeUndefined();
    expect(headers["x-webhook-auth"]).toBe("hook-secret");
  });

  it("runs the editor's test webhook when asked", async () => {
    const result = await n8nConnector.runWorkflow!({ workflow: "/greet", input: { name: "T" }, test: true }, ctx());
    expect(result.data.output).toEqual({ greeting: "hello T", test: true });
  });

  it("sends a GET run's input as query parameters, on a multi-segment path", async () => {
    const result = await n8nConnector.runWorkflow!({ workflow: "team/echo", method: "GET", input: { q: "x y", n: 2, ok: true } }, ctx());
    expect(result.data.output).toEqual({ q: "x y", n: "2", ok: "true" });
    await expect(n8nConnector.runWorkflow!({ workflow: "team/echo", method: "GET", input: { nested: { a: 1 } } }, ctx())).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("returns a text answer as text", async () => {
    const result = await n8nConnector.runWorkflow!({ workflow: "notify" }, ctx());
    expect(result.data).toMatchObject({ status: 200, output: "Workflow was started" });
    expect(fake.last("/webhook/notify")?.body).toEqual({});
  });

  it("maps n8n's 'Error in workflow' to upstream_error, and refuses path tricks before calling n8n", async () => {
    await expect(n8nConnector.runWorkflow!({ workflow: "broken" }, ctx())).rejects.toMatchObject({ code: "upstream_error", upstreamStatus: 500 });
    const before = fake.requests.length;
    await expect(n8nConnector.runWorkflow!({ workflow: "../api/v1/workflows" }, ctx())).rejects.toMatchObject({ code: "validation_failed" });
    await expect(n8nConnector.runWorkflow!({ workflow: "a?b=1" }, ctx())).rejects.toMatchObject({ code: "validation_failed" });
    expect(fake.requests.length).toBe(before);
  });

  it("lists every workflow across cursor pages", async () => {
    const result = await n8nConnector.listWorkflows!(ctx());
    expect(result.data.workflows.map((workflow) => workflow.id)).toEqual(N8N_WORKFLOWS.map((workflow) => workflow.id));
    expect(result.data.workflows[0]).toEqual({ id: "wf1", name: "Greeter", active: true, tags: ["demo"], createdAt: "2025-05-01T10:00:00.000Z", updatedAt: "2025-05-02T10:00:00.000Z" });
    expect(fake.requests.filter((request) => request.path === "/api/v1/workflows").length).toBeGreaterThanOrEqual(2);
  });

  it("marks workflow runs as unsafe to retry", () => {
    expect(UNSAFE_TO_RETRY.has("workflow_run")).toBe(true);
  });
});
