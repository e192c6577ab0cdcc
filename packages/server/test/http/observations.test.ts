// What the node measured, as JSON: /api/metrics/summary and /api/services/{id}/activity against a real server and the
// fake OpenAI upstream. Calls and failures show in the current minute, by capability and service; a service's breaker
// opens after its failures and says so with its change; recent errors carry the stable code and request id, never
// the upstream's message; the health checker's verdicts make the health history; nobody reads a service they may not
// see, and the summary needs metrics:read.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricsSummarySchema, ServiceActivitySchema, type MetricsSummary, type ServiceActivity } from "@kai/protocol";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../gateway/fakes/openai-fake.js";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";

let server: TestServer;
let llm: FakeUpstream;
let checked: FakeUpstream;
let caller: string;

beforeAll(async () => {
  [llm, checked] = await Promise.all([startOpenAIFake(), startOpenAIFake()]);
  server = await startTestServer({
    config: { rateLimit: { enabled: false }, gateway: { retries: 0, breaker: { failureThreshold: 2, openMs: 600_000, probeIntervalMs: 0 } } },
  });
  caller = await mintToken(server, ["gateway:invoke", "services:read"], "alice");
  const registered = await server.request("/api/services/register", {
    method: "POST",
    json: registration({ id: "obs-llm", url: llm.url, owner: "alice", metadata: { models: [OPENAI_MODEL] } }),
  });
  expect(registered.status, await registered.text()).toBe(201);
});
afterAll(async () => {
  await server?.dispose();
  await Promise.all([llm?.close(), checked?.close()]);
});

async function chat(): Promise<Response> {
  return server.request("/v1/chat/completions", { method: "POST", token: caller, json: { model: `obs-llm/${OPENAI_MODEL}`, messages: [{ role: "user", content: "hi" }] } });
}

async function summary(token?: string): Promise<MetricsSummary> {
  const response = await server.request("/api/metrics/summary", token !== undefined ? { token } : {});
  expect(response.status, await response.clone().text()).toBe(200);
  return MetricsSummarySchema.parse(await response.json());
}

async function activity(id: string, token?: string): Promise<ServiceActivity> {
  const response = await server.request(`/api/services/${id}/activity`, token !== undefined ? { token } : {});
  expect(response.status, await response.clone().text()).toBe(200);
  return ServiceActivitySchema.parse(await response.json());
}

describe("GET /api/metrics/summary and /api/services/{id}/activity", () => {
  it("counts successful calls now and in the last hour, by capability and by service", async () => {
    for (let i = 0; i < 3; i++) expect((await chat()).status).toBe(200);
    const viewer = await mintToken(server, ["metrics:read"], "grafana");
    const seen = await eventually(async () => {
      const current = await summary(viewer);
      return current.lastHour.totals.requests >= 3 ? current : null;
    });
    expect(seen.scope).toBe("instance");
    expect(seen.lastHour.minutes).toHaveLength(60);
    expect(seen.now.requests).toBe(3);
    expect(seen.now.errors).toBe(0);
    expect(seen.now.p50Ms).not.toBeNull();
    expect(seen.byCapability).toContainEqual(expect.objectContaining({ capability: "llm_chat", requests: 3, errors: 0 }));
    expect(seen.byService).toContainEqual(expect.objectContaining({ serviceId: "obs-llm", requests: 3 }));

    const service = await activity("obs-llm", caller);
    expect(service).toMatchObject({ serviceId: "obs-llm", status: "active", health: "unknown", breaker: { state: "closed" } });
    expect(service.traffic.totals.requests).toBe(3);
    expect(service.runtime.ewmaLatencyMs).not.toBeNull();
    expect(service.recentErrors).toEqual([]);
  });

  it("opens the breaker after failures and lists them as recent errors with their code and request id", async () => {
    llm.scenario = { kind: "status", status: 500, message: "upstream secret detail 42" };
    try {
      const failures = [await chat(), await chat()];
      for (const failure of failures) expect(failure.status).toBeGreaterThanOrEqual(500);
      const requestIds = failures.map((failure) => failure.headers.get("x-request-id"));
      const service = await eventually(async () => {
        const current = await activity("obs-llm", caller);
        return current.breaker.state === "open" && current.recentErrors.length >= 2 ? current : null;
      });
      expect(service.breaker.changes.at(-1)).toMatchObject({ from: "closed", to: "open" });
      expect(service.breaker.retryAfterMs).toBeGreaterThan(0);
      expect(service.traffic.totals.errors).toBe(2);
      const [latest] = service.recentErrors;
      expect(latest).toMatchObject({ serviceId: "obs-llm", capability: "llm_chat", operation: "chat" });
      expect(latest!.code).toMatch(/^[a-z_]+$/);
      expect(requestIds).toContain(latest!.requestId);
      expect(JSON.stringify(service)).not.toContain("secret detail");

      const node = await summary();
      expect(node.breakers).toContainEqual(expect.objectContaining({ serviceId: "obs-llm", state: "open" }));
      expect(node.recentErrors[0]).toMatchObject({ serviceId: "obs-llm", code: latest!.code });
      expect(node.now.errors).toBe(2);
      expect(node.now.errorRate).toBeCloseTo(2 / 5);
    } finally {
      llm.scenario = { kind: "ok" };
    }
  });

  it("keeps the health checker's verdicts as the service's health history", async () => {
    const registered = await server.request("/api/services/register", {
      method: "POST",
      json: registration({ id: "obs-checked", url: checked.url, healthCheck: { path: "/health", interval: 1, timeout: 1, failuresBeforeOffline: 1, successesBeforeActive: 1 } }),
    });
    expect(registered.status).toBe(201);
    await eventually(async () => (await activity("obs-checked")).healthHistory.some((entry) => entry.health === "passing"), 10_000);
    checked.scenario = { kind: "status", status: 503 };
    const failing = await eventually(async () => {
      const current = await activity("obs-checked");
      // The verdict is set just before the status write (so the change event already reads it): wait for both.
      return current.health === "failing" && current.status === "offline" ? current : null;
    }, 10_000);
    expect(failing.status).toBe("offline");
    expect(failing.healthHistory.map((entry) => entry.health)).toEqual(["passing", "failing"]);
    expect((await summary()).health).toEqual({ passing: 0, failing: 1 });
    checked.scenario = { kind: "ok" };
  });

  it("answers not_found for a service the caller may not see, and the summary only for metrics:read", async () => {
    const hidden = await server.request("/api/services/register", { method: "POST", json: registration({ id: "obs-private", owner: "bob", visibility: "private" }) });
    expect(hidden.status).toBe(201);
    const response = await server.request("/api/services/obs-private/activity", { token: caller });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("not_found");
    expect((await server.request("/api/services/no-such/activity")).status).toBe(404);
    const refused = await server.request("/api/metrics/summary", { token: caller });
    expect(refused.status).toBe(403);
  });

  it("shows a service without traffic as empty, not missing", async () => {
    const quiet = await activity("obs-private");
    expect(quiet.traffic.totals).toMatchObject({ requests: 0, errors: 0, errorRate: 0, p50Ms: null, p99Ms: null });
    expect(quiet.traffic.minutes.every((minute) => minute.requests === 0)).toBe(true);
    expect(quiet.breaker).toEqual({ state: "closed", retryAfterMs: 0, changes: [] });
  });
});
