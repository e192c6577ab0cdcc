// Model lists under a registration storm: records that point at the same provider endpoint share one fetch,
// fetches to many endpoints run a few at a time (never one outbound call per registration at once), and a
// request that needs a queued service's list does not wait behind the queue.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeUpstream } from "../fakes/fake-server.js";
import { ALICE, chat, openRouterHarness, type RouterHarness } from "./harness.js";

let h: RouterHarness;
const fakes: FakeUpstream[] = [];

beforeEach(async () => {
  h = await openRouterHarness();
});
afterEach(async () => {
  await h.close();
  for (const fake of fakes.splice(0)) await fake.close();
});

const modelListCalls = (fake: FakeUpstream) => fake.requests.filter((request) => request.path === "/v1/models").length;

describe("model list fetching under load", () => {
  it("fetches one endpoint's list once for many records that point at it", async () => {
    const shared = await startOpenAIFake({ models: ["gpt-fake"] });
    fakes.push(shared);
    for (let i = 0; i < 40; i++) await h.register({ id: `same-${i}`, url: shared.url });
    const result = await h.router.route("chat", chat(), { principal: ALICE });
    expect(result.serviceId).toMatch(/^same-/);
    expect(modelListCalls(shared)).toBeLessThanOrEqual(2);
  });

  it("gives every record behind one endpoint the shared list, and a failure to none", async () => {
    const shared = await startOpenAIFake({ models: ["gpt-fake", "model-s"] });
    fakes.push(shared);
    await h.register({ id: "first", url: shared.url });
    // The first record's fetch has settled: the next ones share its answer instead of asking again.
    await expect.poll(() => h.router.models(ALICE).length).toBe(2);
    for (let i = 0; i < 30; i++) await h.register({ id: `same-${i}`, url: shared.url });
    const listed = h.router.models(ALICE).filter((entry) => entry.model === "model-s").map((entry) => entry.serviceId);
    expect(listed.sort()).toEqual(["first", ...Array.from({ length: 30 }, (_, i) => `same-${i}`)].sort());
    expect(modelListCalls(shared)).toBe(1);

    const down = await startOpenAIFake({ models: ["never-seen"] });
    fakes.push(down);
    down.scenario = { kind: "status", status: 500 };
    await h.register({ id: "down-first", url: down.url });
    await expect.poll(() => modelListCalls(down)).toBe(1);
    for (let i = 0; i < 10; i++) await h.register({ id: `down-${i}`, url: down.url });
    expect(h.router.models(ALICE).filter((entry) => entry.serviceId.startsWith("down"))).toEqual([]);
    // Their failure is shared too (for SHARE_FETCH_MS): no call per record, and no models.
    expect(modelListCalls(down)).toBe(1);
  });

  it("runs at most a few fetches at once across many endpoints, and a routed request jumps the queue", async () => {
    const slow: FakeUpstream[] = [];
    for (let i = 0; i < 20; i++) {
      const fake = await startOpenAIFake({ models: [`m-${i}`] });
      fake.scenario = { kind: "stall" };
      slow.push(fake);
      fakes.push(fake);
    }
    for (let i = 0; i < 20; i++) await h.register({ id: `slow-${i}`, url: slow[i]!.url });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = slow.filter((fake) => modelListCalls(fake) > 0).length;
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThanOrEqual(8);

    // The last service's fetch is still queued; a request that needs it starts it at once.
    const last = slow[19]!;
    expect(modelListCalls(last)).toBe(0);
    last.scenario = { kind: "ok" };
    const result = await h.router.route("chat", chat("m-19"), { principal: ALICE });
    expect(result.serviceId).toBe("slow-19");
    expect(modelListCalls(last)).toBeGreaterThan(0);
  });
});
