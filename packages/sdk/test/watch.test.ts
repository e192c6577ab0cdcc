/**
 * `client.watch()` against a real server: snapshot then live events, a local view that follows the
 * filter, resume after a dropped connection and after a server restart with nothing lost or applied
 * twice, the browser path (token in the query), and refusal of bad credentials without endless retries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WS from "ws";
import { KaiApiError, type EventMessage, type KaiClient, type ServiceRecord, type Watcher, type WatcherState } from "@kai/sdk";
import { createClient } from "@kai/sdk";
import { definition, eventually, startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

let registry: RegistryFixture;
let alice: KaiClient;

beforeAll(async () => {
  registry = await startRegistry();
  alice = await registry.clientWith(["services:read", "services:write"], "alice");
});
afterAll(async () => {
  await registry?.close();
});

/**
 * A `ws` WebSocket that remembers its instances, so a test can cut the connection under the watcher. While `away()`
 * says so, it connects to a port where nothing listens instead (the watcher keeps failing to come back).
 */
function trackingWebSocket(away: () => boolean = () => false) {
  const sockets: WS[] = [];
  class TrackingWebSocket extends WS {
    constructor(address: string | URL, ...rest: unknown[]) {
      const target = new URL(address);
      if (away()) target.port = "1";
      super(target, ...(rest as []));
      sockets.push(this);
    }
  }
  return { TrackingWebSocket, sockets };
}

interface Recording {
  events: EventMessage[];
  snapshots: number;
  snapshotReasons: string[];
  resumed: number[];
  states: WatcherState[];
  errors: Error[];
}

function recorder(): Recording & { handlers: Parameters<KaiClient["watch"]>[0] } {
  const recording: Recording = { events: [], snapshots: 0, snapshotReasons: [], resumed: [], states: [], errors: [] };
  const handlers: Parameters<KaiClient["watch"]>[0] = {
    onSnapshot: (message) => {
      recording.snapshots += 1;
      recording.snapshotReasons.push(message.reason);
    },
    onEvent: (message) => recording.events.push(message),
    onResumed: (revision) => recording.resumed.push(revision),
    onStateChange: (state) => recording.states.push(state),
    onError: (error) => recording.errors.push(error),
  };
  return Object.assign(recording, { handlers });
}

async function restView(client: KaiClient, tag: string): Promise<Map<string, number>> {
  const view = new Map<string, number>();
  for await (const service of client.services.listAll({ tag: [tag] })) view.set(service.id, service.revision);
  return view;
}

const revisionsOf = (services: ReadonlyMap<string, ServiceRecord>) => new Map([...services].map(([id, service]) => [id, service.revision]));

function expectStrictlyIncreasing(events: EventMessage[]): void {
  const revisions = events.map((event) => event.revision);
  expect(new Set(revisions).size).toBe(revisions.length);
  expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
}

describe("watch", () => {
  it("gets a snapshot, then live events, and keeps the view in line with the filter", async () => {
    await alice.services.register(definition("w1-a", { tags: ["w1"] }));
    await alice.services.register(definition("w1-b", { tags: ["w1"] }));
    await alice.services.register(definition("other-1", { tags: ["elsewhere"] }));

    const record = recorder();
    const watcher = alice.watch({ filter: { tag: ["w1"] }, ...record.handlers });
    try {
      await watcher.ready;
      expect(record.snapshots).toBe(1);
      expect([...watcher.services.keys()].sort()).toEqual(["w1-a", "w1-b"]);
      expect(watcher.state).toBe("open");

      const { service: added } = await alice.services.register(definition("w1-c", { tags: ["w1"] }));
      const patched = await alice.services.update("w1-a", { description: "changed" });
      await alice.services.remove("w1-b");
      // Moves out of the filter: the view must drop it even though the service still exists.
      const movedOut = await alice.services.update("w1-c", { tags: ["elsewhere"] });
      await alice.services.register(definition("other-2", { tags: ["elsewhere"] }));

      await eventually(() => watcher.revision >= movedOut.revision);
      expect([...watcher.services.keys()]).toEqual(["w1-a"]);
      expect(watcher.services.get("w1-a")?.description).toBe("changed");
      expect(record.events.map((event) => [event.event, event.serviceId])).toEqual([
        ["registered", "w1-c"],
        ["updated", "w1-a"],
        ["deregistered", "w1-b"],
        ["updated", "w1-c"],
      ]);
      expect(record.events[0]?.revision).toBe(added.revision);
      expect(record.events[1]?.revision).toBe(patched.revision);
      expectStrictlyIncreasing(record.events);
    } finally {
      watcher.close();
    }
    expect(watcher.state).toBe("closed");
    expect(record.states).toEqual(["connecting", "open", "closed"]);
  });

  it("resumes after its connection is cut and delivers what changed meanwhile exactly once", async () => {
    const { TrackingWebSocket, sockets } = trackingWebSocket();
    const client = createClient({ url: registry.url, token: (await registry.admin.tokens.create({ scopes: ["services:read"], owner: "alice" })).token, WebSocket: TrackingWebSocket });
    await alice.services.register(definition("rs-base", { tags: ["rs"] }));

    const record = recorder();
    const watcher = client.watch({ filter: { tag: ["rs"] }, reconnect: { minDelayMs: 1000, maxDelayMs: 1000 }, ...record.handlers });
    try {
      await watcher.ready;
      const { service: live } = await alice.services.register(definition("rs-live", { tags: ["rs"] }));
      await eventually(() => watcher.revision >= live.revision);

      sockets.at(-1)?.terminate();
      await eventually(() => watcher.state === "reconnecting");
      const { service: first } = await alice.services.register(definition("rs-1", { tags: ["rs"] }));
      const { service: second } = await alice.services.register(definition("rs-2", { tags: ["rs"] }));
      const firstUpdated = await alice.services.update("rs-1", { description: "while away" });
      await alice.services.remove("rs-2");
      await alice.services.update("rs-base", { tags: ["gone"] });
      // The changes above must have happened while the watcher was away, or this test proves nothing.
      expect(watcher.state).toBe("reconnecting");

      await eventually(() => record.resumed.length === 1);
      await eventually(() => watcher.state === "open");
      const { service: after } = await alice.services.register(definition("rs-after", { tags: ["rs"] }));
      await eventually(() => watcher.revision >= after.revision);

      expect(sockets.length).toBe(2);
      expect(record.snapshots).toBe(1);
      expectStrictlyIncreasing(record.events);
      const replayed = record.events.map((event) => event.revision);
      expect(replayed).toEqual(expect.arrayContaining([live.revision, first.revision, second.revision, firstUpdated.revision, after.revision]));
      expect(revisionsOf(watcher.services)).toEqual(await restView(alice, "rs"));
      expect([...watcher.services.keys()].sort()).toEqual(["rs-1", "rs-after", "rs-live"]);
      expect(record.errors.every((error) => error.name === "KaiConnectionError")).toBe(true);
    } finally {
      watcher.close();
    }
  });

  it("passes the token as ?token= when the WebSocket cannot send headers (browsers)", async () => {
    const urls: string[] = [];
    // Looks like a browser WebSocket: no `terminate`, and a constructor that takes no headers.
    function BrowserLikeWebSocket(url: string, protocols?: string | string[]) {
      urls.push(url);
      return new WS(url, protocols);
    }
    const client = createClient({ url: registry.url, token: registry.adminToken, WebSocket: BrowserLikeWebSocket });
    await alice.services.register(definition("bw-1", { tags: ["bw"] }));
    const watcher = client.watch({ filter: { tag: ["bw"] } });
    try {
      await watcher.ready;
      expect([...watcher.services.keys()]).toEqual(["bw-1"]);
      expect(new URL(urls[0] ?? "").searchParams.get("token")).toBe(registry.adminToken);
      expect(urls[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws\/registry\?/);
    } finally {
      watcher.close();
    }
  });

  it("stops with a 401 for a bad token instead of retrying forever", async () => {
    const errors: Error[] = [];
    const watcher = createClient({ url: registry.url, token: "bad-token" }).watch({ onError: (error) => errors.push(error), reconnect: { minDelayMs: 20, maxDelayMs: 20 } });
    const failure = await watcher.ready.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(failure).toBeInstanceOf(KaiApiError);
    expect(failure).toMatchObject({ status: 401, code: "unauthorized" });
    expect(watcher.state).toBe("closed");
    const count = errors.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(errors.length).toBe(count);
  });

  it("stops with a 403 for a token without services:read", async () => {
    const heartbeatOnly = await registry.clientWith(["services:heartbeat"], "alice");
    const watcher = heartbeatOnly.watch({});
    const failure = await watcher.ready.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(failure).toMatchObject({ status: 403, code: "forbidden" });
    expect(watcher.state).toBe("closed");
  });

  it("refuses an invalid filter at once", () => {
    expect(() => alice.watch({ filter: { type: ["spaceship" as "agent"] } })).toThrow(KaiApiError);
  });

  it("closes when its AbortSignal fires", async () => {
    const controller = new AbortController();
    const watcher: Watcher = alice.watch({ signal: controller.signal });
    await watcher.ready;
    controller.abort();
    expect(watcher.state).toBe("closed");
  });
});

describe("watch after a long absence", () => {
  it("gets a fresh snapshot when the missed changes are no longer retained, and converges", async () => {
    const small = await startRegistry({ registry: { eventRetention: 100 } });
    try {
      // While `away`, every connection attempt goes to a port where nothing listens: the watcher stays away for
      // exactly as long as the 121 writes below take, however busy the machine (a fixed delay once fell short in CI).
      let away = false;
      const { TrackingWebSocket, sockets } = trackingWebSocket(() => away);
      const { token } = await small.admin.tokens.create({ scopes: ["services:read", "services:write"], owner: "alice" });
      const client = createClient({ url: small.url, token, WebSocket: TrackingWebSocket });
      await client.services.register(definition("far-0", { tags: ["far"] }));
      const record = recorder();
      const watcher = client.watch({ filter: { tag: ["far"] }, reconnect: { minDelayMs: 100, maxDelayMs: 200 }, ...record.handlers });
      try {
        await watcher.ready;
        away = true;
        sockets.at(-1)?.terminate();
        await eventually(() => watcher.state === "reconnecting");
        // More changes than the server keeps: resuming is impossible, so a snapshot must replace the view.
        for (let i = 1; i <= 60; i++) await client.services.register(definition(`far-${i}`, { tags: ["far"] }));
        for (let i = 1; i <= 60; i++) await client.services.update(`far-${i}`, { description: "again" });
        const { service: last } = await client.services.register(definition("far-last", { tags: ["far"] }));
        expect(watcher.state).toBe("reconnecting");
        away = false;

        await eventually(() => watcher.revision >= last.revision && watcher.state === "open", 15_000);
        expect(record.snapshotReasons).toEqual(["subscribe", "too_far_behind"]);
        expect(revisionsOf(watcher.services)).toEqual(await restView(client, "far"));
        expect(watcher.services.size).toBe(62);
      } finally {
        watcher.close();
      }
    } finally {
      await small.close();
    }
  });
});

describe("watch across a server restart", () => {
  it("reconnects to the restarted server and converges on its state without applying anything twice", async () => {
    const first = await startRegistry();
    const port = Number(new URL(first.url).port);
    const dataDir = first.dataDir;
    const owner = await first.clientWith(["services:read", "services:write"], "alice");
    await owner.services.register(definition("rst-1", { tags: ["rst"] }));
    const { token } = await first.admin.tokens.create({ scopes: ["services:read"], owner: "alice" });

    const record = recorder();
    const watcher = createClient({ url: first.url, token }).watch({ filter: { tag: ["rst"] }, reconnect: { minDelayMs: 300, maxDelayMs: 300 }, ...record.handlers });
    let second: RegistryFixture | undefined;
    try {
      await watcher.ready;
      await first.close({ keepData: true });
      await eventually(() => watcher.state === "reconnecting");
      second = await startRegistry({}, { dataDir, port });
      const restarted = createClient({ url: second.url, token: second.adminToken });
      const { service: added } = await restarted.services.register(definition("rst-2", { tags: ["rst"] }));
      await eventually(() => watcher.revision >= added.revision && watcher.state === "open", 10_000);

      expect([...watcher.services.keys()].sort()).toEqual(["rst-1", "rst-2"]);
      expect(revisionsOf(watcher.services)).toEqual(await restView(restarted, "rst"));
      expectStrictlyIncreasing(record.events);
      // Either the missed changes were replayed (resumed) or a fresh snapshot replaced the view: never a gap.
      expect(record.resumed.length + record.snapshots).toBeGreaterThanOrEqual(2);
    } finally {
      watcher.close();
      await second?.close();
    }
  });
});

describe("watch across registry histories", () => {
  it("a resume point from another registry history (wiped data) gets a fresh snapshot, and the watcher reports the new epoch", async () => {
    const before = await startRegistry();
    const after = await startRegistry();
    try {
      const first = createClient({ url: before.url, token: (await before.admin.tokens.create({ scopes: ["services:read", "services:write"], owner: "alice" })).token });
      await first.services.register(definition("old-1", { tags: ["hist"] }));
      const old = first.watch({ filter: { tag: ["hist"] } });
      await old.ready;
      const saved = { revision: old.revision, epoch: old.epoch };
      old.close();
      expect(saved.epoch).toBeTruthy();

      // The "wiped" registry reaches past the saved revision with different services.
      const second = createClient({ url: after.url, token: (await after.admin.tokens.create({ scopes: ["services:read", "services:write"], owner: "alice" })).token });
      for (let i = 0; i <= saved.revision + 2; i++) await second.services.register(definition(`new-${i}`, { tags: ["hist"] }));

      const record = recorder();
      const watcher = second.watch({ filter: { tag: ["hist"] }, fromRevision: saved.revision, ...(saved.epoch ? { epoch: saved.epoch } : {}), ...record.handlers });
      try {
        await watcher.ready;
        expect(record.snapshotReasons).toEqual(["epoch_changed"]);
        expect(record.resumed).toEqual([]);
        expect(watcher.epoch).toBeTruthy();
        expect(watcher.epoch).not.toBe(saved.epoch);
        expect(revisionsOf(watcher.services)).toEqual(await restView(second, "hist"));
      } finally {
        watcher.close();
      }
    } finally {
      await before.close();
      await after.close();
    }
  });
});
