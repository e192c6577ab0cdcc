// Many named subscriptions on one /ws/registry connection: each gets its own snapshot, resume and errors; a change
// goes out once per connection naming every subscription it concerns; unsubscribe stops one and not the others;
// the per-stream limit refuses one more without harming the rest; progress speaks only when every one is live; and a
// lagging connection gives each of its subscriptions an exact fresh snapshot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceRecord } from "@kai/protocol";
import { openRegistrySocket, type RegistrySocket } from "../helpers/registry-socket.js";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let alice: string;
let bob: string;

beforeAll(async () => {
  server = await startTestServer({
    config: { registry: { eventRetention: 100, progressIntervalMs: 200 }, watch: { maxSubscriptionsPerStream: 3, maxBufferedBytes: 64 * 1024 }, rateLimit: { enabled: false } },
  });
  alice = await mintToken(server, ["services:read", "services:write"], "alice");
  bob = await mintToken(server, ["services:read", "services:write"], "bob");
});
afterAll(async () => server.dispose());

type Stream = RegistrySocket;
const connect = (token: string) => openRegistrySocket(server, token);

const register = (body: Record<string, unknown>, token = alice) => server.request("/api/services/register", { method: "POST", json: body, token });
const eventsFor = (stream: Stream, serviceId: string) => stream.messages.filter((m) => m.type === "event" && m.serviceId === serviceId);
const snapshotOf = (stream: Stream, id: string) => stream.next((m) => m.type === "snapshot" && m.subscription === id);

describe("named subscriptions on one connection", () => {
  it("gives each its own snapshot and sends a change once, naming every subscription it concerns", async () => {
    await register(registration({ id: "mx-a1", tags: ["mx-a"] }));
    await register(registration({ id: "mx-b1", tags: ["mx-b"] }));
    const stream = await connect(alice);
    stream.send({ type: "subscribe", id: "a", filter: { tag: ["mx-a"] } });
    stream.send({ type: "subscribe", id: "b", filter: { tag: ["mx-b"] } });
    const a = await snapshotOf(stream, "a");
    const b = await snapshotOf(stream, "b");
    expect(a.type === "snapshot" && a.services.map((s) => s.id)).toEqual(["mx-a1"]);
    expect(b.type === "snapshot" && b.services.map((s) => s.id)).toEqual(["mx-b1"]);

    await register(registration({ id: "mx-both", tags: ["mx-a", "mx-b"] }));
    await register(registration({ id: "mx-a2", tags: ["mx-a"] }));
    await register(registration({ id: "mx-none", tags: ["mx-c"] }));
    await stream.next((m) => m.type === "event" && m.serviceId === "mx-a2");
    const both = eventsFor(stream, "mx-both");
    expect(both).toHaveLength(1);
    expect(both[0]!.type === "event" && [...(both[0]!.subscriptions ?? [])].sort()).toEqual(["a", "b"]);
    const onlyA = eventsFor(stream, "mx-a2");
    expect(onlyA.map((m) => m.type === "event" && m.subscriptions)).toEqual([["a"]]);
    expect(eventsFor(stream, "mx-none")).toEqual([]);
    // The unnamed subscription of the original protocol still works beside them, and its events name nobody.
    stream.send({ type: "subscribe", filter: { tag: ["mx-b"] } });
    await stream.next((m) => m.type === "snapshot" && m.subscription === undefined);
    await register(registration({ id: "mx-b2", tags: ["mx-b"] }));
    await eventually(async () => eventsFor(stream, "mx-b2").length === 2);
    const b2 = eventsFor(stream, "mx-b2").map((m) => (m.type === "event" ? (m.subscriptions ?? null) : undefined));
    expect(b2).toContainEqual(["b"]);
    expect(b2).toContainEqual(null);
    stream.close();
  });

  it("gives subscriptions asking the same at once the same snapshot, each under its name, and another owner only what it may see", async () => {
    // Identical subscriptions share one read (directory/shared-snapshot-reads.ts): the answer must still be each one's
    // own, and a read is never shared across viewers (bob must not get alice's private record).
    await register(registration({ id: "mx-same-public", tags: ["mx-same"] }));
    await register(registration({ id: "mx-same-private", tags: ["mx-same"], visibility: "private" }));
    const aliceStream = await connect(alice);
    const bobStream = await connect(bob);
    for (const id of ["s1", "s2", "s3"]) aliceStream.send({ type: "subscribe", id, filter: { tag: ["mx-same"] } });
    for (const id of ["s1", "s2"]) bobStream.send({ type: "subscribe", id, filter: { tag: ["mx-same"] } });
    const ids = (message: Awaited<ReturnType<typeof snapshotOf>>) => (message.type === "snapshot" ? message.services.map((service) => service.id) : []);
    const aliceSnapshots = await Promise.all(["s1", "s2", "s3"].map((id) => snapshotOf(aliceStream, id)));
    const bobSnapshots = await Promise.all(["s1", "s2"].map((id) => snapshotOf(bobStream, id)));
    for (const snapshot of aliceSnapshots) expect(ids(snapshot)).toEqual(["mx-same-private", "mx-same-public"]);
    for (const snapshot of bobSnapshots) expect(ids(snapshot)).toEqual(["mx-same-public"]);
    expect(new Set(aliceSnapshots.map((snapshot) => snapshot.type === "snapshot" && snapshot.revision)).size).toBe(1);
    // A change after the shared read: a subscription asking now reads again and sees it; the live ones get the event.
    await register(registration({ id: "mx-same-later", tags: ["mx-same"] }));
    aliceStream.send({ type: "subscribe", id: "s1", filter: { tag: ["mx-same"] } });
    await eventually(async () => aliceStream.messages.filter((m) => m.type === "snapshot" && m.subscription === "s1").length === 2);
    const again = aliceStream.messages.filter((m) => m.type === "snapshot" && m.subscription === "s1")[1]!;
    expect(ids(again)).toEqual(["mx-same-later", "mx-same-private", "mx-same-public"]);
    await eventually(async () => eventsFor(bobStream, "mx-same-later").length === 1);
    const later = eventsFor(bobStream, "mx-same-later")[0]!;
    expect(later.type === "event" && [...(later.subscriptions ?? [])].sort()).toEqual(["s1", "s2"]);
    aliceStream.close();
    bobStream.close();
  });

  it("unsubscribes one without touching the others; an unknown id is ignored", async () => {
    const stream = await connect(alice);
    stream.send({ type: "subscribe", id: "keep", filter: { tag: ["mx-u"] } });
    stream.send({ type: "subscribe", id: "drop", filter: { tag: ["mx-u"] } });
    await snapshotOf(stream, "keep");
    await snapshotOf(stream, "drop");
    stream.send({ type: "unsubscribe", id: "drop" });
    stream.send({ type: "unsubscribe", id: "never-was" });
    stream.send({ type: "ping" });
    await stream.next((m) => m.type === "pong");
    await register(registration({ id: "mx-u1", tags: ["mx-u"] }));
    const event = await stream.next((m) => m.type === "event" && m.serviceId === "mx-u1");
    expect(event.type === "event" && event.subscriptions).toEqual(["keep"]);
    expect(stream.messages.filter((m) => m.type === "error")).toEqual([]);
    stream.close();
  });

  it("resumes a named subscription from a revision: the missed changes, then `resumed`, all naming it", async () => {
    const first = await connect(alice);
    first.send({ type: "subscribe", id: "r", filter: { tag: ["mx-r"] } });
    const snapshot = await snapshotOf(first, "r");
    first.close();
    await register(registration({ id: "mx-r1", tags: ["mx-r"] }));
    await register(registration({ id: "mx-r2", tags: ["mx-r"] }));
    const second = await connect(alice);
    if (snapshot.type !== "snapshot") throw new Error("expected a snapshot");
    second.send({ type: "subscribe", id: "r", filter: { tag: ["mx-r"] }, fromRevision: snapshot.revision, epoch: snapshot.epoch });
    const resumed = await second.next((m) => m.type === "resumed");
    expect(resumed.type === "resumed" && resumed.subscription).toBe("r");
    const replayed = second.messages.filter((m) => m.type === "event");
    expect(replayed.map((m) => m.type === "event" && [m.serviceId, m.subscriptions])).toEqual([
      ["mx-r1", ["r"]],
      ["mx-r2", ["r"]],
    ]);
    second.close();
  });

  it("tells a named subscription that a service left its sight, naming it, without the record", async () => {
    const stream = await connect(alice);
    stream.send({ type: "subscribe", id: "v", filter: { tag: ["mx-v"] } });
    await snapshotOf(stream, "v");
    await register(registration({ id: "mx-v1", tags: ["mx-v"], visibility: "public" }), bob);
    await stream.next((m) => m.type === "event" && m.serviceId === "mx-v1");
    await server.request("/api/services/mx-v1", { method: "PATCH", json: { visibility: "private" }, token: bob });
    const hidden = await stream.next((m) => m.type === "event" && m.serviceId === "mx-v1" && m.reason === "hidden");
    expect(hidden.type === "event" && [hidden.subscriptions, hidden.service]).toEqual([["v"], undefined]);
    stream.close();
  });

  it("refuses one subscription over the per-stream limit, and a bad one, naming each; the others go on", async () => {
    const stream = await connect(alice);
    for (const id of ["l1", "l2", "l3"]) stream.send({ type: "subscribe", id, filter: { tag: ["mx-l"] } });
    for (const id of ["l1", "l2", "l3"]) await snapshotOf(stream, id);
    stream.send({ type: "subscribe", id: "l4", filter: { tag: ["mx-l"] } });
    const limited = await stream.next((m) => m.type === "error" && m.subscription === "l4");
    expect(limited.type === "error" && limited.error.code).toBe("rate_limited");
    // Replacing an existing one is not a new one.
    stream.send({ type: "subscribe", id: "l3", filter: { tag: ["other"] } });
    await eventually(async () => stream.messages.filter((m) => m.type === "snapshot" && m.subscription === "l3").length === 2);
    stream.send({ type: "subscribe", id: "l2", filter: { limit: "many" } });
    const invalid = await stream.next((m) => m.type === "error" && m.subscription === "l2");
    expect(invalid.type === "error" && invalid.error.code).toBe("validation_failed");
    // Hostile names: too long, quotes and braces (they would break the frame's JSON), not a string; and an unsubscribe without one.
    const errorsBefore = stream.messages.filter((m) => m.type === "error").length;
    for (const id of ["x".repeat(65), 'a"b', "a}{b", 42, ""]) stream.send({ type: "subscribe", id, filter: { tag: ["mx-l"] } });
    stream.send({ type: "unsubscribe" });
    await eventually(async () => stream.messages.filter((m) => m.type === "error").length === errorsBefore + 6);
    const hostile = stream.messages.filter((m) => m.type === "error").slice(errorsBefore);
    expect(hostile.map((m) => m.type === "error" && [m.subscription, m.error.code])).toEqual(Array.from({ length: 6 }, () => [undefined, "validation_failed"]));
    await register(registration({ id: "mx-l1", tags: ["mx-l"] }));
    const event = await stream.next((m) => m.type === "event" && m.serviceId === "mx-l1");
    // l2's refused replacement left it as it was; l3 now watches another tag.
    expect(event.type === "event" && [...(event.subscriptions ?? [])].sort()).toEqual(["l1", "l2"]);
    stream.close();
  });

  it("sends progress only while every subscription of the connection is live", async () => {
    const stream = await connect(alice);
    stream.send({ type: "subscribe", id: "p1", filter: { tag: ["mx-p"] } });
    await snapshotOf(stream, "p1");
    const progress = await stream.next((m) => m.type === "progress", 5000);
    expect(progress.type).toBe("progress");
    stream.close();
  });
});

it("gives each subscription of a lagging connection a fresh snapshot, exact again", async () => {
  const stream = await connect(server.adminToken);
  stream.send({ type: "subscribe", id: "even", filter: { tag: ["lag-even"] } });
  stream.send({ type: "subscribe", id: "all", filter: { tag: ["lag"] } });
  await snapshotOf(stream, "even");
  await snapshotOf(stream, "all");
  stream.socket.pause(); // stop reading: the server's send buffer for this socket fills up
  const padding = "x".repeat(48 * 1024);
  for (let i = 0; i < 160; i++) {
    const tags = i % 2 === 0 ? ["lag", "lag-even"] : ["lag"];
    const response = await register(registration({ id: `lag-${String(i).padStart(3, "0")}`, tags, metadata: { padding } }), server.adminToken);
    expect(response.status).toBe(201);
  }
  stream.socket.resume();
  for (const id of ["even", "all"]) await stream.next((m) => m.type === "snapshot" && m.subscription === id && m.reason === "lagging", 15_000);
  // Rebuild each view as a client would, from the messages naming it, and compare with the registry's own answer.
  for (const [id, tag] of [["even", "lag-even"], ["all", "lag"]] as const) {
    const view = new Map<string, ServiceRecord>();
    for (const message of stream.messages) {
      if (message.type === "snapshot" && message.subscription === id) {
        view.clear();
        for (const service of message.services) view.set(service.id, service);
      } else if (message.type === "event" && message.subscriptions?.includes(id) && message.service) view.set(message.serviceId, message.service);
    }
    const list = (await (await server.request(`/api/services?tag=${tag}&limit=1000`)).json()) as { services: ServiceRecord[] };
    expect([...view.keys()].sort()).toEqual(list.services.map((s) => s.id));
  }
  stream.close();
}, 40_000);
