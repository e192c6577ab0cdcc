// Execution with failover against real fake upstreams: retries on the same service, failover on
// 5xx/429/unreachable/timeout, none on a 400, one deadline across retries and fallbacks, Retry-After
// cooldowns, the per-service circuit breaker (lone service, recovery, health feed) and RPM/TPM limits.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeUpstream } from "../fakes/fake-server.js";
import type { RouterOptions } from "../../../src/gateway/router/index.js";
import { attemptsOf } from "../../../src/gateway/router/index.js";
import { ALICE, chat, openRouterHarness, registerPreferredPair, rejection, settle, type RouterHarness } from "./harness.js";

let a: FakeUpstream;
let b: FakeUpstream;
let h: RouterHarness | undefined;
const calls = (fake: FakeUpstream) => fake.requests.filter((request) => request.path === "/v1/chat/completions").length;

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** Two services, `first` preferred (priority 1) over `second` (priority 2). */
async function pair(options: Partial<RouterOptions> = {}): Promise<RouterHarness> {
  h = await openRouterHarness(options);
  await registerPreferredPair(h, a.url, b.url, "openai-compatible");
  return h;
}

beforeAll(async () => {
  a = await startOpenAIFake();
  b = await startOpenAIFake();
});
afterAll(async () => {
  await a.close();
  await b.close();
});
beforeEach(() => {
  a.scenario = { kind: "ok" };
  b.scenario = { kind: "ok" };
  a.requests.length = 0;
  b.requests.length = 0;
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("failover", () => {
  it("retries a 5xx once on the same service, then fails over", async () => {
    await pair();
    a.scenario = { kind: "status", status: 500 };
    const result = await h!.router.route("chat", chat(), { principal: ALICE });
    expect(result.serviceId).toBe("second");
    expect(result.attempts.map((step) => `${step.serviceId}:${step.outcome}:${step.code ?? ""}`)).toEqual(["first:error:upstream_error", "first:error:upstream_error", "second:ok:"]);
    expect(calls(a)).toBe(2);
  });

  it("a retry that succeeds stays on the same service", async () => {
    await pair();
    a.scenario = { kind: "status", status: 503, times: 1 };
    const result = await h!.router.route("chat", chat(), { principal: ALICE });
    expect(result.serviceId).toBe("first");
    expect(result.attempts.map((step) => step.outcome)).toEqual(["error", "ok"]);
    expect(calls(b)).toBe(0);
  });

  it("fails over on 429 and cools the service down for its Retry-After", async () => {
    await pair();
    a.scenario = { kind: "status", status: 429, retryAfter: "30" };
    expect((await h!.router.route("chat", chat(), { principal: ALICE })).serviceId).toBe("second");
    expect(calls(a)).toBe(1); // a 429 is not retried on the same service
    a.scenario = { kind: "ok" };
    const next = await h!.router.route("chat", chat(), { principal: ALICE });
    expect(next.serviceId).toBe("second");
    expect(next.attempts[0]).toMatchObject({ serviceId: "first", outcome: "skipped", reason: "cooling_down" });
    expect(calls(a)).toBe(1);
    const stats = h!.router.serviceStats().find((entry) => entry.serviceId === "first")!;
    expect(stats.retryAfterMs).toBeGreaterThan(28_000);
    expect(stats.breaker).toBe("closed"); // a 429 is a cooldown, not a fault
  });

  it("fails over when a service is unreachable", async () => {
    h = await openRouterHarness();
    await h.register({ id: "gone", url: await closedPortUrl(), metadata: { priority: 1, models: ["gpt-fake"] } });
    await h.register({ id: "second", url: b.url, metadata: { priority: 2 } });
    const result = await h.router.route("chat", chat(), { principal: ALICE });
    expect(result.serviceId).toBe("second");
    expect(result.attempts[0]).toMatchObject({ serviceId: "gone", code: "upstream_unreachable" });
  });

  it("fails over when a service does not answer in time (not retried on the same service)", async () => {
    await pair({ attemptTimeoutMs: 200 });
    a.scenario = { kind: "stall" };
    const result = await h!.router.route("chat", chat(), { principal: ALICE });
    expect(result.serviceId).toBe("second");
    expect(result.attempts[0]).toMatchObject({ serviceId: "first", code: "upstream_timeout" });
    expect(calls(a)).toBe(1);
  });

  it("does not fail over on a client error (400)", async () => {
    await pair();
    a.scenario = { kind: "status", status: 400, message: "messages: field required" };
    const error = await rejection(h!.router.route("chat", chat(), { principal: ALICE }), "upstream_bad_request");
    expect(error.status).toBe(400);
    expect(calls(a)).toBe(1);
    expect(calls(b)).toBe(0);
    expect(attemptsOf(error)).toEqual([expect.objectContaining({ serviceId: "first", code: "upstream_bad_request" })]);
  });

  it("keeps one deadline across fallbacks", async () => {
    await pair({ deadlineMs: 400, attemptTimeoutMs: 5_000 });
    a.scenario = { kind: "stall" };
    b.scenario = { kind: "stall" };
    const started = Date.now();
    const error = await rejection(h!.router.route("chat", chat(), { principal: ALICE }), "upstream_timeout");
    expect(error.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(calls(b)).toBe(0); // the first attempt used the whole budget
  });

  it("keeps one deadline across retries: backoff that would not fit is skipped", async () => {
    h = await openRouterHarness({ deadlineMs: 500, retries: 10, backoff: { initialMs: 150, maxMs: 150 }, breaker: { failureThreshold: 100, openMs: 300, maxOpenMs: 2_000, probeIntervalMs: 0 } });
    await h.register({ id: "first", url: a.url, metadata: { models: ["gpt-fake"] } });
    a.scenario = { kind: "status", status: 502 };
    const started = Date.now();
    await rejection(h.router.route("chat", chat(), { principal: ALICE }), "upstream_error");
    // Ten retries with 150 ms backoff would take over 1.5 s; the 500 ms deadline must cut them short. The bound
    // leaves room for a loaded machine without letting the retries run out.
    expect(Date.now() - started).toBeLessThan(1_200);
    expect(calls(a)).toBeGreaterThan(1);
    expect(calls(a)).toBeLessThan(11);
  });

  it("stops at once when the caller aborts, cancelling the upstream call", async () => {
    await pair();
    a.scenario = { kind: "ok", latencyMs: 3_000 };
    const closes = a.earlyCloses;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await rejection(h!.router.route("chat", chat(), { principal: ALICE, signal: controller.signal }), "request_cancelled");
    expect(Date.now() - started).toBeLessThan(1_000);
    await a.waitForEarlyClose(closes);
    expect(calls(b)).toBe(0);
    const stats = h!.router.serviceStats().find((entry) => entry.serviceId === "first")!;
    expect(stats).toMatchObject({ inFlight: 0, failures: 0, breaker: "closed" });
  });
});

describe("circuit breaker", () => {
  it("trips for a lone service, fails fast while open, and recovers through a half-open probe", async () => {
    h = await openRouterHarness({ retries: 0 });
    await h.register({ id: "lone", url: a.url, metadata: { models: ["gpt-fake"] } });
    a.scenario = { kind: "status", status: 500 };
    for (let i = 0; i < 3; i++) await rejection(h.router.route("chat", chat(), { principal: ALICE }), "upstream_error");
    expect(h.router.serviceStats()[0]!.breaker).toBe("open");
    const fast = await rejection(h.router.route("chat", chat(), { principal: ALICE }), "no_service_available");
    expect(fast.status).toBe(503);
    expect(Number(fast.headers?.["Retry-After"])).toBeGreaterThanOrEqual(1);
    expect(calls(a)).toBe(3); // not hammered
    a.scenario = { kind: "ok" };
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(h.router.serviceStats()[0]!.breaker).toBe("half_open");
    expect((await h.router.route("chat", chat(), { principal: ALICE })).serviceId).toBe("lone");
    expect(h.router.serviceStats()[0]!.breaker).toBe("closed");
  });

  it("a failed probe opens the breaker again for longer", async () => {
    h = await openRouterHarness({ retries: 0 });
    await h.register({ id: "lone", url: a.url, metadata: { models: ["gpt-fake"] } });
    a.scenario = { kind: "status", status: 500 };
    for (let i = 0; i < 3; i++) await rejection(h.router.route("chat", chat(), { principal: ALICE }), "upstream_error");
    await new Promise((resolve) => setTimeout(resolve, 350));
    await rejection(h.router.route("chat", chat(), { principal: ALICE }), "upstream_error"); // the probe
    const stats = h.router.serviceStats()[0]!;
    expect(stats.breaker).toBe("open");
    expect(stats.retryAfterMs).toBeGreaterThan(350); // 600 ms now, after 300 ms before
  });

  it("is fed by health-check results, and its prober lets a recovered service back early", async () => {
    h = await openRouterHarness({ retries: 0, breaker: { failureThreshold: 2, openMs: 60_000, maxOpenMs: 60_000, probeIntervalMs: 50 } });
    await h.register({ id: "lone", url: a.url, metadata: { models: ["gpt-fake"] } });
    h.router.reportHealth("lone", { ok: false });
    h.router.reportHealth("lone", { ok: false });
    expect(h.router.serviceStats()[0]!.breaker).toBe("open");
    await rejection(h.router.route("chat", chat(), { principal: ALICE }), "no_service_available");
    expect(calls(a)).toBe(0);
    // The fake's health endpoint answers 200: the prober sees it and lets one request probe long before 60 s.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await h.router.route("chat", chat(), { principal: ALICE })).serviceId).toBe("lone");
    expect(h.router.serviceStats()[0]!.breaker).toBe("closed");
  });

  it("reports breaker state changes to the observer", async () => {
    const changes: string[] = [];
    h = await openRouterHarness();
    await h.register({ id: "lone", url: a.url, metadata: { models: ["gpt-fake"] } });
    const { CapabilityRouter, routerOptions } = await import("../../../src/gateway/router/index.js");
    const watched = new CapabilityRouter({
      store: h.store,
      feed: h.feed,
      options: routerOptions({ retries: 0, modelRefreshMs: 0, breaker: { failureThreshold: 1, openMs: 50, maxOpenMs: 50, probeIntervalMs: 0 } }),
      observer: { onBreakerChange: (event) => changes.push(`${event.serviceId}:${event.from}->${event.to}`) },
    });
    await watched.start();
    try {
      a.scenario = { kind: "status", status: 500 };
      await rejection(watched.route("chat", chat(), { principal: ALICE }), "upstream_error");
      a.scenario = { kind: "ok" };
      await new Promise((resolve) => setTimeout(resolve, 80));
      await watched.route("chat", chat(), { principal: ALICE });
      await settle();
      expect(changes).toEqual(["lone:closed->open", "lone:open->half_open", "lone:half_open->closed"]);
    } finally {
      watched.stop();
    }
  });
});

describe("per-service rate limits", () => {
  it("skips a service at its RPM limit and uses the next one", async () => {
    h = await openRouterHarness();
    await h.register({ id: "first", url: a.url, rateLimit: { rpm: 2 }, metadata: { priority: 1 } });
    await h.register({ id: "second", url: b.url, metadata: { priority: 2 } });
    const served = [];
    for (let i = 0; i < 3; i++) served.push((await h.router.route("chat", chat(), { principal: ALICE })).serviceId);
    expect(served).toEqual(["first", "first", "second"]);
    expect(calls(a)).toBe(2);
  });

  it("answers 429 services_rate_limited with Retry-After when every candidate is at its limit", async () => {
    h = await openRouterHarness();
    await h.register({ id: "only", url: a.url, rateLimit: { rpm: 2 } });
    await h.router.route("chat", chat(), { principal: ALICE });
    await h.router.route("chat", chat(), { principal: ALICE });
    const error = await rejection(h.router.route("chat", chat(), { principal: ALICE }), "services_rate_limited");
    expect(error.status).toBe(429);
    const retryAfter = Number(error.headers?.["Retry-After"]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(calls(a)).toBe(2);
    expect(attemptsOf(error)).toEqual([{ serviceId: "only", provider: "openai-compatible", outcome: "skipped", reason: "rpm" }]);
  });

  it("charges reported tokens against TPM and skips the service once it is used up", async () => {
    h = await openRouterHarness();
    // The fake reports 12 tokens per chat completion.
    await h.register({ id: "only", url: a.url, rateLimit: { tpm: 20 } });
    await h.router.route("chat", chat(), { principal: ALICE });
    await h.router.route("chat", chat(), { principal: ALICE });
    await rejection(h.router.route("chat", chat(), { principal: ALICE }), "services_rate_limited");
    expect(h.router.serviceStats()[0]!.tokensLastMinute).toBe(24);
    await settle();
    expect(h.results.map((event) => event.usage?.total_tokens)).toEqual([12, 12]);
  });
});
