/**
 * `client.registryStream()` against a real server: many watchers on ONE WebSocket, each with its own filter and
 * view; a change that concerns several arrives once on the wire and reaches each; closing one watcher leaves the
 * others; a cut connection resumes every watcher with nothing lost or applied twice; a watcher over the server's
 * per-stream limit is refused alone; closing the stream closes them all.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WS from "ws";
import { createClient, type EventMessage, type KaiClient, type ServiceRecord, type Watcher } from "@kai/sdk";
import { definition, eventually, startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;
let alice: KaiClient;

beforeAll(async () => {
  registry = await startRegistry({ watch: { maxSubscriptionsPerStream: 4 } });
  alice = await registry.clientWith(["services:read", "services:write"], "alice");
});
afterAll(async () => {
  await registry?.close();
});

/** A `ws` WebSocket that remembers its instances and counts the frames each receives. */
function trackingWebSocket() {
  const sockets: WS[] = [];
  const frames: string[] = [];
  class TrackingWebSocket extends WS {
    constructor(...args: ConstructorParameters<typeof WS>) {
      super(...args);
      sockets.push(this);
      this.on("message", (data) => frames.push(String(data)));
    }
  }
  return { TrackingWebSocket, sockets, frames };
}

async function clientWithTracking() {
  const tracking = trackingWebSocket();
  const { token } = await registry.admin.tokens.create({ scopes: ["services:read"], owner: "alice" });
  return { ...tracking, client: createClient({ url: registry.url, token, WebSocket: tracking.TrackingWebSocket }) };
}

async function restView(tag: string): Promise<Map<string, number>> {
  const view = new Map<string, number>();
  for await (const service of alice.services.listAll({ tag: [tag] })) view.set(service.id, service.revision);
  return view;
}
const revisionsOf = (services: ReadonlyMap<string, ServiceRecord>) => new Map([...services].map(([id, service]) => [id, service.revision]));

describe("registryStream", () => {
  it("carries many watchers on one connection, each with its own view; a change for several arrives once", async () => {
    await alice.services.register(definition("rsx-a1", { tags: ["rsx-a"] }));
    await alice.services.register(definition("rsx-b1", { tags: ["rsx-b"] }));
    const { client, sockets, frames } = await clientWithTracking();
    const stream = client.registryStream();
    const eventsOf = new Map<string, EventMessage[]>([["a", []], ["b", []]]);
    const a = stream.watch({ filter: { tag: ["rsx-a"] }, onEvent: (event) => eventsOf.get("a")!.push(event) });
    const b = stream.watch({ filter: { tag: ["rsx-b"] }, onEvent: (event) => eventsOf.get("b")!.push(event) });
    try {
      await Promise.all([a.ready, b.ready]);
      expect(sockets).toHaveLength(1);
      expect(stream.size).toBe(2);
      expect([...a.services.keys()]).toEqual(["rsx-a1"]);
      expect([...b.services.keys()]).toEqual(["rsx-b1"]);

      const { service: both } = await alice.services.register(definition("rsx-both", { tags: ["rsx-a", "rsx-b"] }));
      const { service: onlyB } = await alice.services.register(definition("rsx-b2", { tags: ["rsx-b"] }));
      await eventually(() => a.revision >= both.revision && b.revision >= onlyB.revision);
      expect([...a.services.keys()].sort()).toEqual(["rsx-a1", "rsx-both"]);
      expect([...b.services.keys()].sort()).toEqual(["rsx-b1", "rsx-b2", "rsx-both"]);
      expect(eventsOf.get("a")!.map((event) => event.serviceId)).toEqual(["rsx-both"]);
      expect(eventsOf.get("b")!.map((event) => event.serviceId)).toEqual(["rsx-both", "rsx-b2"]);
      // One frame for the change both watch.
      expect(frames.filter((frame) => frame.includes('"serviceId":"rsx-both"'))).toHaveLength(1);

      // Closing one leaves the other, on the same connection.
      a.close();
      expect(a.state).toBe("closed");
      const { service: later } = await alice.services.register(definition("rsx-later", { tags: ["rsx-a", "rsx-b"] }));
      await eventually(() => b.revision >= later.revision);
      expect(a.services.has("rsx-later")).toBe(false);
      expect(stream.state).toBe("open");
      expect(sockets).toHaveLength(1);
    } finally {
      stream.close();
    }
    expect(b.state).toBe("closed");
    expect(stream.state).toBe("closed");
  });

  it("resumes every watcher after the connection is cut, each receiving exactly what it missed", async () => {
    const { client, sockets } = await clientWithTracking();
    const stream = client.registryStream({ reconnect: { minDelayMs: 800, maxDelayMs: 800 } });
    let snapshots = 0;
    const watchers: Watcher[] = ["rsr-a", "rsr-b", "rsr-c"].map((tag) => stream.watch({ filter: { tag: [tag] }, onSnapshot: () => snapshots++ }));
    const resumed: number[] = [];
    const late = stream.watch({ filter: { tag: ["rsr-a"] }, onResumed: (revision) => resumed.push(revision) });
    try {
      await Promise.all([...watchers, late].map((watcher) => watcher.ready));
      sockets.at(-1)?.terminate();
      await eventually(() => stream.state === "reconnecting");
      await alice.services.register(definition("rsr-1", { tags: ["rsr-a", "rsr-c"] }));
      await alice.services.register(definition("rsr-2", { tags: ["rsr-b"] }));
      const last = await alice.services.update("rsr-1", { tags: ["rsr-c"] });
      expect(stream.state).toBe("reconnecting");
      await eventually(() => resumed.length === 1, 8000);
      // a and c see the last change (rsr-1 left a's filter); b's last change is rsr-2.
      await eventually(() => watchers[0]!.revision >= last.revision && watchers[2]!.revision >= last.revision && late.revision >= last.revision);
      await eventually(() => watchers[1]!.services.has("rsr-2"));
      expect(sockets).toHaveLength(2);
      expect(snapshots).toBe(3); // the first three; every watcher resumed after the cut instead of starting over
      for (const [index, tag] of ["rsr-a", "rsr-b", "rsr-c"].entries()) expect(revisionsOf(watchers[index]!.services)).toEqual(await restView(tag));
      expect(revisionsOf(late.services)).toEqual(await restView("rsr-a"));
    } finally {
      stream.close();
    }
  });

  it("refuses a watcher over the server's per-stream limit alone; the others go on", async () => {
    const { client } = await clientWithTracking();
    const errors: Error[] = [];
    const stream = client.registryStream();
    const accepted = [1, 2, 3, 4].map(() => stream.watch({ filter: { tag: ["rsl"] } }));
    await Promise.all(accepted.map((watcher) => watcher.ready));
    const refused = stream.watch({ filter: { tag: ["rsl"] }, onError: (error) => errors.push(error) });
    try {
      await expect(refused.ready).rejects.toMatchObject({ code: "rate_limited", status: 429 });
      expect(refused.state).toBe("closed");
      expect(errors.map((error) => (error as { code?: string }).code)).toEqual(["rate_limited"]);
      const { service } = await alice.services.register(definition("rsl-1", { tags: ["rsl"] }));
      await eventually(() => accepted.every((watcher) => watcher.revision >= service.revision));
      expect(accepted.every((watcher) => watcher.services.has("rsl-1"))).toBe(true);
    } finally {
      stream.close();
    }
  });

  it("closes every watcher when its signal aborts", async () => {
    const { client } = await clientWithTracking();
    const controller = new AbortController();
    const stream = client.registryStream({ signal: controller.signal });
    const watcher = stream.watch({ filter: { tag: ["rss"] } });
    await watcher.ready;
    controller.abort();
    expect(watcher.state).toBe("closed");
    expect(stream.state).toBe("closed");
    const afterwards = stream.watch({ filter: { tag: ["rss"] } });
    await expect(afterwards.ready).rejects.toThrow(/closed/);
  });
});
