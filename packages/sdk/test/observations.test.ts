/**
 * `client.observations` against a real server and the fake OpenAI upstream: the summary counts routed calls and
 * failures (metrics:read), a service's activity says the same for that service with its recent error, and the
 * calls fail with the API's codes (forbidden without metrics:read, not_found for a service the caller cannot see).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KaiClient } from "@kai/sdk";
import { definition, startRegistry, type RegistryFixture } from "./helpers/registry-server.js";
import { OPENAI_MODEL, startOpenAIFake } from "../../server/test/gateway/fakes/openai-fake.js";
import type { FakeUpstream } from "../../server/test/gateway/fakes/fake-server.js";

let registry: RegistryFixture;
let upstream: FakeUpstream;
let caller: KaiClient;

beforeAll(async () => {
  upstream = await startOpenAIFake();
  registry = await startRegistry({ gateway: { retries: 0 } });
  await registry.admin.services.register(definition("obs-sdk", { url: upstream.url, visibility: "public", metadata: { models: [OPENAI_MODEL] } }));
  await registry.admin.services.register(definition("obs-hidden", { owner: "bob", visibility: "private" }));
  caller = await registry.clientWith(["gateway:invoke", "services:read"], "alice");
});
afterAll(async () => {
  await registry?.close();
  await upstream?.close();
});

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the figures never arrived");
}

describe("client.observations", () => {
  it("reads the summary and a service's activity", async () => {
    await caller.gateway.chat({ model: `obs-sdk/${OPENAI_MODEL}`, messages: [{ role: "user", content: "hi" }] });
    upstream.scenario = { kind: "status", status: 500 };
    await expect(caller.gateway.chat({ model: `obs-sdk/${OPENAI_MODEL}`, messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: expect.any(Number) });
    upstream.scenario = { kind: "ok" };

    const summary = await until(() => registry.admin.observations.summary(), (s) => s.lastHour.totals.requests >= 2);
    expect(summary.lastHour.totals).toMatchObject({ requests: 2, errors: 1, errorRate: 0.5 });
    expect(summary.byService).toContainEqual(expect.objectContaining({ serviceId: "obs-sdk", requests: 2, errors: 1 }));

    const activity = await caller.observations.service("obs-sdk");
    expect(activity).toMatchObject({ serviceId: "obs-sdk", status: "active", scope: "instance" });
    expect(activity.traffic.minutes).toHaveLength(activity.windowMinutes);
    expect(activity.recentErrors).toHaveLength(1);
    expect(activity.recentErrors[0]!.code).toMatch(/^[a-z_]+$/);
  });

  it("fails with the API's codes", async () => {
    await expect(caller.observations.summary()).rejects.toMatchObject({ code: "forbidden", status: 403 });
    await expect(caller.observations.service("obs-hidden")).rejects.toMatchObject({ code: "not_found", status: 404 });
  });
});
