// Each strategy against real services: priority, weighted round-robin, least latency (EWMA), least in
// flight, lowest cost; the configured default and the per-request override; maxLatencyMs.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeUpstream } from "../fakes/fake-server.js";
import { ALICE, chat, openRouterHarness, rejection, type RouterHarness } from "./harness.js";

let fast: FakeUpstream;
let slow: FakeUpstream;
let h: RouterHarness | undefined;
const models = ["gpt-fake"];

beforeAll(async () => {
  fast = await startOpenAIFake();
  slow = await startOpenAIFake();
});
afterAll(async () => {
  await fast.close();
  await slow.close();
});
beforeEach(() => {
  fast.scenario = { kind: "ok" };
  slow.scenario = { kind: "ok", latencyMs: 60 };
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function serve(count: number, strategy?: Parameters<RouterHarness["router"]["route"]>[2]["hints"]): Promise<string[]> {
  const served: string[] = [];
  for (let i = 0; i < count; i++) served.push((await h!.router.route("chat", chat(), { principal: ALICE, ...(strategy ? { hints: strategy } : {}) })).serviceId);
  return served;
}

describe("strategies", () => {
  it("priority: lower metadata.priority first (the default strategy)", async () => {
    h = await openRouterHarness();
    await h.register({ id: "p5", url: fast.url, metadata: { priority: 5, models } });
    await h.register({ id: "p1", url: slow.url, metadata: { priority: 1, models } });
    expect(await serve(3)).toEqual(["p1", "p1", "p1"]);
  });

  it("weighted: smooth round-robin in proportion to metadata.weight", async () => {
    h = await openRouterHarness({ defaultStrategy: "weighted" });
    await h.register({ id: "w3", url: fast.url, metadata: { weight: 3, models } });
    await h.register({ id: "w1", url: fast.url, metadata: { weight: 1, models } });
    const served = await serve(8);
    expect(served.filter((id) => id === "w3")).toHaveLength(6);
    expect(served.filter((id) => id === "w1")).toHaveLength(2);
    // Smooth: never three of the heavier one's turns in a row, the light one is spread out.
    expect(served.slice(0, 4).filter((id) => id === "w1")).toHaveLength(1);
  });

  it("least_latency: the service with the lower EWMA once both were measured", async () => {
    h = await openRouterHarness({ defaultStrategy: "least_latency" });
    await h.register({ id: "slow", url: slow.url, metadata: { models } });
    await h.register({ id: "fast", url: fast.url, metadata: { models } });
    // Unmeasured services go first, so both get measured in the first two requests.
    const first = await serve(2);
    expect(new Set(first)).toEqual(new Set(["slow", "fast"]));
    expect(await serve(3)).toEqual(["fast", "fast", "fast"]);
    const stats = Object.fromEntries(h.router.serviceStats().map((entry) => [entry.serviceId, entry.ewmaLatencyMs!]));
    expect(stats.slow).toBeGreaterThan(stats.fast!);
  });

  it("least_in_flight: a busy service is passed over", async () => {
    h = await openRouterHarness({ defaultStrategy: "least_in_flight" });
    slow.scenario = { kind: "ok", latencyMs: 300 };
    await h.register({ id: "a-busy", url: slow.url, metadata: { models } });
    await h.register({ id: "b-idle", url: fast.url, metadata: { models } });
    const busy = h.router.route("chat", chat(), { principal: ALICE }); // goes to a-busy (tie → id order)
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(h.router.serviceStats().find((entry) => entry.serviceId === "a-busy")?.inFlight).toBe(1);
    expect(await serve(2)).toEqual(["b-idle", "b-idle"]);
    expect((await busy).serviceId).toBe("a-busy");
  });

  it("lowest_cost: cheapest first; a number or {input, output}; undeclared cost last", async () => {
    h = await openRouterHarness({ defaultStrategy: "lowest_cost" });
    await h.register({ id: "unknown", url: fast.url, metadata: { models } });
    await h.register({ id: "pricey", url: fast.url, metadata: { cost: { input: 0.5, output: 1.5 }, models } });
    await h.register({ id: "cheap", url: fast.url, metadata: { cost: 0.2, models } });
    const result = await h.router.route("chat", chat(), { principal: ALICE });
    expect(result.serviceId).toBe("cheap");
    fast.scenario = { kind: "status", status: 500 };
    const failed = await rejection(h.router.route("chat", chat(), { principal: ALICE }), "upstream_error");
    expect(failed).toBeDefined();
    // The failover order followed the same ranking.
    const { attemptsOf } = await import("../../../src/gateway/router/index.js");
    expect([...new Set(attemptsOf(failed)!.map((step) => step.serviceId))]).toEqual(["cheap", "pricey", "unknown"]);
  });

  it("the request's strategy overrides the default; maxLatencyMs skips measured slow services", async () => {
    h = await openRouterHarness();
    await h.register({ id: "slow", url: slow.url, metadata: { priority: 1, models } });
    await h.register({ id: "fast", url: fast.url, metadata: { priority: 2, models } });
    // Unmeasured services go first under least_latency: these two requests measure both.
    expect(new Set([...(await serve(1, { strategy: "least_latency" })), ...(await serve(1, { strategy: "least_latency" }))])).toEqual(new Set(["slow", "fast"]));
    expect(await serve(1)).toEqual(["slow"]); // default priority
    expect(await serve(1, { strategy: "least_latency" })).toEqual(["fast"]);
    expect(await serve(1, { maxLatencyMs: 40 })).toEqual(["fast"]);
    fast.scenario = { kind: "ok", latencyMs: 60 };
    await serve(3, { serviceId: "fast" });
    await rejection(h.router.route("chat", chat(), { principal: ALICE, hints: { maxLatencyMs: 30 } }), "no_service_available");
  });
});
