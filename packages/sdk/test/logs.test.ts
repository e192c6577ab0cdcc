/**
 * `client.logs` (the node's recent log lines and their live stream) and `client.gateway.images`, against a real
 * server (and, for images, the fake OpenAI upstream over a socket).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, type KaiClient, type LogStreamEvent } from "@kai/sdk";
import { definition, startRegistry, type RegistryFixture } from "./helpers/registry-server.js";
import { startOpenAIFake } from "../../server/test/gateway/fakes/openai-fake.js";
import type { FakeUpstream } from "../../server/test/gateway/fakes/fake-server.js";

let registry: RegistryFixture;
let upstream: FakeUpstream;

beforeAll(async () => {
  upstream = await startOpenAIFake();
  registry = await startRegistry();
  await registry.admin.services.register(definition("painter", { url: upstream.url, capabilities: ["image_generation"], visibility: "public" }));
});
afterAll(async () => {
  await registry?.close();
  await upstream?.close();
});

describe("client.logs", () => {
  it("lists the recent lines, filtered", async () => {
    await registry.admin.services.list();
    const { entries, capacity, latestSeq } = await registry.admin.logs.list({ limit: 5 });
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.length).toBeLessThanOrEqual(5);
    expect(capacity).toBeGreaterThan(0);
    expect(entries.at(-1)!.seq).toBeLessThanOrEqual(latestSeq);
    const warnings = await registry.admin.logs.list({ level: "error" });
    expect(warnings.entries.every((entry) => entry.level === "error" || entry.level === "fatal")).toBe(true);
    // The task and service filters reach the node: ids no line carries leave nothing.
    expect((await registry.admin.logs.list({ taskId: "sdk-no-such-task" })).entries).toEqual([]);
    expect((await registry.admin.logs.list({ serviceId: "sdk-no-such-service" })).entries).toEqual([]);
  });

  it("follows the log live until cancelled", async () => {
    const controller = new AbortController();
    const { latestSeq } = await registry.admin.logs.list({ limit: 1 });
    const events = await registry.admin.logs.stream({ after: latestSeq, q: "/api/services" }, { signal: controller.signal });
    const seen: LogStreamEvent[] = [];
    const reading = (async () => {
      try {
        for await (const event of events) {
          seen.push(event);
          if (event.type === "log" && event.entry.fields.route === "/api/services") controller.abort();
        }
      } catch {
        // cancelled
      }
    })();
    await registry.admin.services.list();
    await reading;
    const logs = seen.filter((event): event is Extract<LogStreamEvent, { type: "log" }> => event.type === "log");
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.every((event) => event.entry.seq > latestSeq)).toBe(true);
  });

  it("is refused to a token without admin", async () => {
    const reader = await registry.clientWith(["services:read"], "reader");
    await expect(reader.logs.list()).rejects.toMatchObject({ code: "forbidden" });
    const refused = await reader.logs.stream().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KaiApiError);
    expect((refused as KaiApiError).code).toBe("forbidden");
  });
});

describe("client.gateway.images", () => {
  it("generates an image and says which service served it", async () => {
    const caller: KaiClient = await registry.clientWith(["gateway:invoke"], "artist");
    const answer = await caller.gateway.images({ prompt: "a lighthouse" });
    expect(answer.images.data[0]?.revised_prompt).toBe("a lighthouse");
    expect(answer.serviceId).toBe("painter");
    expect(answer.servedBy.provider).toBe("openai");
    expect(answer.overheadMs).toBeGreaterThanOrEqual(0);
  });
});
