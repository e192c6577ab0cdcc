// The router's mirror keeps only what routing reads, shares what entries repeat, and follows the change feed.
import { describe, expect, it } from "vitest";
import type { ServiceRecord } from "@kai/protocol";
import { ChangeFeed } from "../../registry/change-feed.js";
import { MemoryStore } from "../../storage/memory/memory-store.js";
import { ServiceDirectory } from "./service-directory.js";

function record(id: string, revision: number, metadata: Record<string, unknown>): ServiceRecord {
  return {
    id, name: `name of ${id}`, description: "a long description the router never reads", type: "service", provider: "openai",
    capabilities: ["llm_chat", "embeddings"], tags: ["region=eu-west", "bench"], url: "http://127.0.0.1:9", protocol: "http",
    auth: { type: "none" } as ServiceRecord["auth"], endpoints: [{ path: "/v1/chat/completions", method: "POST" }], version: "1.0.0",
    owner: "alice", visibility: "public", trustLevel: "local" as ServiceRecord["trustLevel"], metadata, heartbeat: null, status: "active",
    createdAt: "2026-12-04T00:00:00.000Z", updatedAt: "2026-12-04T00:00:00.000Z", revision,
  } as ServiceRecord;
}

describe("ServiceDirectory", () => {
  it("keeps the routed fields and routing metadata only, shared between equal entries", async () => {
    const feed = new ChangeFeed(0, 100);
    const directory = new ServiceDirectory(new MemoryStore(), feed);
    await directory.start();
    const metadata = { weight: 3, models: ["m1"], zone: "rack-7", notes: "x".repeat(500) };
    feed.publish({ event: { event: "registered", revision: 1, service: record("a", 1, { ...metadata }) }, previous: null });
    feed.publish({ event: { event: "registered", revision: 2, service: record("b", 2, { ...metadata }) }, previous: null });

    const a = directory.get("a")!;
    const b = directory.get("b")!;
    expect(a).not.toHaveProperty("description");
    expect(a).not.toHaveProperty("endpoints");
    expect(a.metadata).toEqual({ weight: 3, models: ["m1"] });
    expect(a.metadata).toBe(b.metadata);
    expect(a.capabilities).toBe(b.capabilities);
    expect(a.tags).toEqual(["region=eu-west", "bench"]);
    expect(directory.withCapability("embeddings").map((entry) => entry.id)).toEqual(["a", "b"]);

    feed.publish({ event: { event: "deregistered", revision: 3, service: record("a", 3, {}) }, previous: null });
    expect(directory.get("a")).toBeUndefined();
    expect(directory.withCapability("embeddings").map((entry) => entry.id)).toEqual(["b"]);
    directory.stop();
  });
});
