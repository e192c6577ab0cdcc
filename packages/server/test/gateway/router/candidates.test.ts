// Candidate selection over a real registry: capability, visibility, connector support, model catalog
// (declared and listed), status, pinning, tags, fallback order, preferLocal, and services registered,
// changed or removed at run time being routable (or not) on the very next request.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import type { FakeUpstream } from "../fakes/fake-server.js";
import { ADMIN, ALICE, BOB, chat, openRouterHarness, rejection, type RouterHarness } from "./harness.js";

let a: FakeUpstream;
let b: FakeUpstream;
let h: RouterHarness;

beforeAll(async () => {
  a = await startOpenAIFake({ models: ["gpt-fake", "model-a"] });
  b = await startOpenAIFake({ models: ["gpt-fake", "model-b"] });
});
afterAll(async () => {
  await a.close();
  await b.close();
});
beforeEach(async () => {
  a.scenario = { kind: "ok" };
  b.scenario = { kind: "ok" };
  h = await openRouterHarness();
});
afterEach(async () => {
  await h.close();
});

describe("candidate selection", () => {
  it("routes to a service offering the capability and says which one answered", async () => {
    const svc = await h.register({ id: "svc-a", url: a.url });
    const result = await h.router.route("chat", chat(), { principal: ALICE });
    expect(result.serviceId).toBe(svc.id);
    expect(result.provider).toBe("openai-compatible");
    expect(result.data.choices[0]?.message.content).toBe("Hello from the fake");
    expect(result.attempts).toEqual([expect.objectContaining({ serviceId: "svc-a", outcome: "ok" })]);
    expect(result.overheadMs).toBeGreaterThanOrEqual(0);
    expect(result.overheadMs).toBeLessThan(result.latencyMs + 1000);
  });

  it("answers capability_not_found when no visible service offers the capability", async () => {
    await h.register({ id: "svc-a", url: a.url, capabilities: ["embeddings"] });
    await rejection(h.router.route("chat", chat(), { principal: ALICE }), "capability_not_found");
  });

  it("never routes to a private service of another owner", async () => {
    await h.register({ id: "alice-private", url: a.url, visibility: "private" }, ALICE);
    await rejection(h.router.route("chat", chat(), { principal: BOB }), "capability_not_found");
    expect((await h.router.route("chat", chat(), { principal: ALICE })).serviceId).toBe("alice-private");
    expect((await h.router.route("chat", chat(), { principal: ADMIN })).serviceId).toBe("alice-private");
  });

  it("skips services whose connector cannot do the operation", async () => {
    // Open WebUI's connector has no embeddings.
    await h.register({ id: "webui", url: a.url, provider: "open-webui", capabilities: ["embeddings"] });
    await rejection(h.router.route("embeddings", { model: "gpt-fake", input: "x" }, { principal: ALICE }), "capability_not_found");
    await h.register({ id: "oai", url: b.url, capabilities: ["embeddings"] });
    expect((await h.router.route("embeddings", { model: "gpt-fake", input: "x" }, { principal: ALICE })).serviceId).toBe("oai");
  });

  it("narrows by model: listed by the provider or declared in metadata.models", async () => {
    await h.register({ id: "svc-a", url: a.url });
    await h.register({ id: "svc-b", url: b.url, metadata: { models: ["declared-only", { id: "declared-object" }] } });
    expect((await h.router.route("chat", chat("model-a"), { principal: ALICE })).serviceId).toBe("svc-a");
    expect((await h.router.route("chat", chat("model-b"), { principal: ALICE })).serviceId).toBe("svc-b");
    expect((await h.router.route("chat", chat("declared-only"), { principal: ALICE })).serviceId).toBe("svc-b");
    expect((await h.router.route("chat", chat("declared-object"), { principal: ALICE })).serviceId).toBe("svc-b");
    await rejection(h.router.route("chat", chat("nobody-has-it"), { principal: ALICE }), "model_not_found");
    const models = h.router.models(ALICE).map((entry) => `${entry.serviceId}:${entry.model}`).sort();
    expect(models).toEqual(["svc-a:gpt-fake", "svc-a:model-a", "svc-b:declared-object", "svc-b:declared-only", "svc-b:gpt-fake", "svc-b:model-b"]);
  });

  it("pins with <serviceId>/<model> and strips the prefix upstream", async () => {
    await h.register({ id: "svc-a", url: a.url });
    await h.register({ id: "svc-b", url: b.url, metadata: { priority: 1 } });
    const result = await h.router.route("chat", chat("svc-a/gpt-fake"), { principal: ALICE });
    expect(result.serviceId).toBe("svc-a");
    expect(result.model).toBe("gpt-fake");
    expect((a.last("/v1/chat/completions")?.body as { model: string }).model).toBe("gpt-fake");
    // A prefix that is no visible service is part of the model name.
    await rejection(h.router.route("chat", chat("org/model"), { principal: ALICE }), "model_not_found");
    // hints.serviceId pins too; an unknown service is 404.
    expect((await h.router.route("chat", chat(), { principal: ALICE, hints: { serviceId: "svc-a" } })).serviceId).toBe("svc-a");
    await rejection(h.router.route("chat", chat(), { principal: ALICE, hints: { serviceId: "nope" } }), "not_found");
  });

  it("does not route to offline or maintenance services (503 no_service_available)", async () => {
    await h.register({ id: "svc-a", url: a.url, status: "maintenance" });
    await rejection(h.router.route("chat", chat(), { principal: ALICE }), "no_service_available");
    await h.registry.patch(ADMIN, "svc-a", { status: "active" });
    expect((await h.router.route("chat", chat(), { principal: ALICE })).serviceId).toBe("svc-a");
    await h.registry.setStatusBySystem("svc-a", "offline", "health check failed 3 times");
    await rejection(h.router.route("chat", chat(), { principal: ALICE }), "no_service_available");
  });

  it("honours tags, fallback order and preferLocal", async () => {
    await h.register({ id: "remote", url: a.url.replace("127.0.0.1", "localhost"), isLocal: false, tags: ["gpu"], metadata: { priority: 1 } });
    await h.register({ id: "local", url: b.url, tags: ["gpu", "eu"], metadata: { priority: 2 } });
    expect((await h.router.route("chat", chat(), { principal: ALICE })).serviceId).toBe("remote");
    expect((await h.router.route("chat", chat(), { principal: ALICE, hints: { tags: ["eu"] } })).serviceId).toBe("local");
    await rejection(h.router.route("chat", chat(), { principal: ALICE, hints: { tags: ["tpu"] } }), "capability_not_found");
    expect((await h.router.route("chat", chat(), { principal: ALICE, hints: { preferLocal: true } })).serviceId).toBe("local");
    expect((await h.router.route("chat", chat(), { principal: ALICE, hints: { fallback: ["local", "remote"] } })).serviceId).toBe("local");
    // Only the listed services are used.
    b.scenario = { kind: "status", status: 500 };
    const error = await rejection(h.router.route("chat", chat(), { principal: ALICE, hints: { fallback: ["local"] } }), "upstream_error");
    expect(error.status).toBe(502);
  });

  it("routes to a service registered at run time at once, and stops when it is removed", async () => {
    await rejection(h.router.route("chat", chat("model-a"), { principal: ALICE }), "capability_not_found");
    await h.register({ id: "hot", url: a.url });
    // The model list is fetched at registration; the very next request waits for it instead of failing.
    expect((await h.router.route("chat", chat("model-a"), { principal: ALICE })).serviceId).toBe("hot");
    await h.registry.patch(ADMIN, "hot", { capabilities: ["embeddings"] });
    await rejection(h.router.route("chat", chat("model-a"), { principal: ALICE }), "capability_not_found");
    await h.registry.patch(ADMIN, "hot", { capabilities: ["llm_chat"] });
    expect((await h.router.route("chat", chat("model-a"), { principal: ALICE })).serviceId).toBe("hot");
    await h.registry.remove(ADMIN, "hot");
    await rejection(h.router.route("chat", chat("model-a"), { principal: ALICE }), "capability_not_found");
  });

  it("follows a service's declared models as its metadata changes, and services with the same metadata stay apart", async () => {
    // Both declare the same list: the directory shares one set for them, so a change to one must not reach the other.
    await h.register({ id: "svc-a", url: a.url, metadata: { models: ["declared-x"] } });
    await h.register({ id: "svc-b", url: b.url, metadata: { models: ["declared-x"] } });
    await h.registry.patch(ADMIN, "svc-a", { metadata: { models: ["declared-y"] } });
    expect((await h.router.route("chat", chat("declared-y"), { principal: ALICE })).serviceId).toBe("svc-a");
    expect((await h.router.route("chat", chat("declared-x"), { principal: ALICE })).serviceId).toBe("svc-b");
    let models = h.router.models(ALICE).map((entry) => `${entry.serviceId}:${entry.model}`).sort();
    expect(models).toEqual(["svc-a:declared-y", "svc-a:gpt-fake", "svc-a:model-a", "svc-b:declared-x", "svc-b:gpt-fake", "svc-b:model-b"]);
    await h.registry.patch(ADMIN, "svc-b", { metadata: {} });
    await rejection(h.router.route("chat", chat("declared-x"), { principal: ALICE }), "model_not_found");
    await h.registry.remove(ADMIN, "svc-a");
    models = h.router.models(ALICE).map((entry) => `${entry.serviceId}:${entry.model}`).sort();
    expect(models).toEqual(["svc-b:gpt-fake", "svc-b:model-b"]);
  });

  it("loads the services that existed before it started", async () => {
    await h.register({ id: "early", url: a.url });
    const again = await h.newRouter();
    try {
      expect((await again.route("chat", chat("model-a"), { principal: ALICE })).serviceId).toBe("early");
    } finally {
      again.stop();
    }
  });
});

describe("checkService", () => {
  it("probes one visible service: health, models, and a failure as an answer", async () => {
    await h.register({ id: "svc-a", url: a.url });
    await h.register({ id: "alice-private", url: b.url, visibility: "private" }, ALICE);
    const ok = await h.router.checkService(ALICE, "svc-a");
    expect(ok).toMatchObject({ serviceId: "svc-a", provider: "openai-compatible", ok: true, models: ["gpt-fake", "model-a"] });
    a.scenario = { kind: "status", status: 503 };
    const failing = await h.router.checkService(ALICE, "svc-a");
    expect(failing).toMatchObject({ ok: false, code: "upstream_error" });
    await rejection(h.router.checkService(BOB, "alice-private"), "not_found");
  });
});
