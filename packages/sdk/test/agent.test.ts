/**
 * `createAgent` against a real server: it registers on start, its heartbeats keep a short lease alive
 * (a service without them goes offline), it re-registers after a 404 and after a real definition
 * change but not for an identical one, it reports failures and keeps trying, and it deregisters on stop.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, createAgent, type Agent, type KaiClient } from "@kai/sdk";
import { definition, eventually, sleep, startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;
let alice: KaiClient;
const agents: Agent[] = [];

beforeAll(async () => {
  // Fast lease checks, and no mass-expiry guard, so that a 1 s ttl expires promptly.
  registry = await startRegistry({ registry: { sweepIntervalMs: 50, massExpiry: { enabled: false } } });
  alice = await registry.clientWith(["services:read", "services:write"], "alice");
});
afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.stop({ deregister: false })));
  await registry?.close();
});

function track(agent: Agent): Agent {
  agents.push(agent);
  return agent;
}

async function statusOf(id: string): Promise<string | undefined> {
  try {
    return (await registry.admin.services.get(id)).status;
  } catch (error) {
    if (error instanceof KaiApiError && error.status === 404) return undefined;
    throw error;
  }
}

describe("agent", () => {
  it("registers on start and deregisters on stop", async () => {
    const agent = track(createAgent(alice, definition("ag-start", { ttl: 30 })));
    expect(agent.registered).toBeNull();
    const record = await agent.start();
    expect(record).toMatchObject({ id: "ag-start", owner: "alice", status: "active" });
    expect(agent.registered).toEqual(record);
    expect(await statusOf("ag-start")).toBe("active");

    await agent.stop();
    expect(agent.registered).toBeNull();
    expect(await statusOf("ag-start")).toBeUndefined();
  });

  it("keeps a 1 s lease active with heartbeats, while a silent service goes offline", async () => {
    await alice.services.register(definition("ag-silent", { ttl: 1 }));
    const agent = track(createAgent(alice, definition("ag-beating", { ttl: 1 })));
    await agent.start();

    await eventually(async () => (await statusOf("ag-silent")) === "offline", 5000);
    expect(await statusOf("ag-beating")).toBe("active");
    await sleep(1200);
    expect(await statusOf("ag-beating")).toBe("active");

    await agent.stop({ deregister: false });
    // Without heartbeats the same lease runs out, which shows the heartbeats were what kept it alive.
    await eventually(async () => (await statusOf("ag-beating")) === "offline", 5000);
  });

  it("does nothing for an identical definition and re-registers a changed one", async () => {
    const base = definition("ag-update", { ttl: 30, metadata: { models: ["a", "b"] } });
    const agent = track(createAgent(alice, base));
    const started = await agent.start();

    // Same content, different object and key order: no request, same record.
    const same = await agent.update({ ...definition("ag-update", { metadata: { models: ["a", "b"] } }), ttl: 30 });
    expect(same).toBe(started);
    expect((await registry.admin.services.get("ag-update")).revision).toBe(started.revision);

    const changed = await agent.update({ ...base, description: "now with embeddings", capabilities: ["llm_chat", "embeddings"] });
    expect(changed.revision).toBeGreaterThan(started.revision);
    const stored = await registry.admin.services.get("ag-update");
    expect(stored).toMatchObject({ description: "now with embeddings", capabilities: ["llm_chat", "embeddings"] });
    expect(agent.registered).toEqual(changed);
    await agent.stop();
  });

  it("a mutated definition object still counts as a change", async () => {
    const mutable = definition("ag-mutate", { ttl: 30 });
    const agent = track(createAgent(alice, mutable));
    const started = await agent.start();
    mutable.description = "mutated in place";
    const updated = await agent.update(mutable);
    expect(updated.revision).toBeGreaterThan(started.revision);
    expect(updated.description).toBe("mutated in place");
    await agent.stop();
  });

  it("registers again when a heartbeat answers 404", async () => {
    const errors: Error[] = [];
    const agent = track(createAgent(alice, definition("ag-lost", { ttl: 30 }), { heartbeatIntervalMs: 100, onError: (error) => errors.push(error) }));
    const first = await agent.start();
    await registry.admin.services.remove("ag-lost");
    expect(await statusOf("ag-lost")).toBeUndefined();

    const again = await eventually(async () => {
      try {
        return await registry.admin.services.get("ag-lost");
      } catch {
        return undefined;
      }
    }, 3000);
    expect(again.revision).toBeGreaterThan(first.revision);
    await eventually(() => agent.registered?.revision === again.revision);
    expect(errors).toEqual([]);
    await agent.stop();
  });

  it("reports failing heartbeats and keeps trying at every interval", async () => {
    const { token, id } = await registry.admin.tokens.create({ scopes: ["services:write"], owner: "dave", ttl: "1h" });
    const { createClient } = await import("@kai/sdk");
    const dave = createClient({ url: registry.url, token });
    const errors: Error[] = [];
    const agent = track(createAgent(dave, definition("ag-revoked", { ttl: 30 }), { heartbeatIntervalMs: 80, onError: (error) => errors.push(error) }));
    await agent.start();
    await registry.admin.tokens.revoke(id);

    await eventually(() => errors.length >= 3, 3000);
    expect(errors.every((error) => error instanceof KaiApiError && error.status === 401)).toBe(true);
    await agent.stop({ deregister: false });
    const count = errors.length;
    await sleep(250);
    expect(errors.length).toBe(count);
  });

  it("refuses update() before start()", async () => {
    const agent = createAgent(alice, definition("ag-idle"));
    await expect(agent.update(definition("ag-idle", { description: "x" }))).rejects.toThrow(/not started/);
  });
});
