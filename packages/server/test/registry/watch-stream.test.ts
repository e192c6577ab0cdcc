// The registry change stream over a real WebSocket: snapshot then live events, filters, visibility,
// resume from a revision with nothing lost or duplicated, and a new snapshot for a client too far behind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { openRegistrySocket, type RegistrySocket } from "../helpers/registry-socket.js";
import { eventually, mintToken, registration, startTestServer, type TestServer } from "../helpers/test-server.js";

let server: TestServer;
let alice: string;
let bob: string;

beforeAll(async () => {
  server = await startTestServer({ config: { registry: { eventRetention: 100 } } });
  alice = await mintToken(server, ["services:read", "services:write"], "alice");
  bob = await mintToken(server, ["services:read", "services:write"], "bob");
});
afterAll(async () => server.dispose());

async function connect(token: string, subscribe: Record<string, unknown>, viaQuery = false): Promise<RegistrySocket> {
  const stream = await openRegistrySocket(server, token, viaQuery);
  stream.send({ type: "subscribe", ...subscribe });
  return stream;
}

const register = (body: Record<string, unknown>, token = alice) => server.request("/api/services/register", { method: "POST", json: body, token });

describe("watch", () => {
  it("sends a snapshot and then live events in revision order", async () => {
    await register(registration({ id: "w-1", tags: ["watch"] }));
    const stream = await connect(alice, { filter: { tag: ["watch"] } });
    const snapshot = await stream.next((m) => m.type === "snapshot");
    expect(snapshot.type === "snapshot" && snapshot.services.map((s) => s.id)).toEqual(["w-1"]);
    await register(registration({ id: "w-2", tags: ["watch"] }));
    await register(registration({ id: "w-3", tags: ["other"] }));
    await server.request("/api/services/w-1", { method: "PATCH", json: { description: "changed" }, token: alice });
    await server.request("/api/services/w-2", { method: "DELETE", token: alice });
    await eventually(async () => stream.messages.filter((m) => m.type === "event").length >= 3);
    const events = stream.messages.flatMap((m) => (m.type === "event" ? [[m.event, m.serviceId] as const] : []));
    expect(events).toEqual([["registered", "w-2"], ["updated", "w-1"], ["deregistered", "w-2"]]);
    const revisions = stream.messages.flatMap((m) => (m.type === "event" ? [m.revision] : []));
    expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);
    stream.close();
  });

  it("accepts the token as ?token= and refuses a connection without a valid token", async () => {
    const stream = await connect(alice, {}, true);
    await stream.next((m) => m.type === "snapshot");
    stream.close();
    const refused = new WebSocket(server.url.replace("http", "ws") + "/ws/registry?token=nope");
    const status = await new Promise<number>((resolve) => refused.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
  });

  it("never shows another owner's private service, and hides one that becomes private", async () => {
    const stream = await connect(alice, { filter: { tag: ["vis"] } });
    await stream.next((m) => m.type === "snapshot");
    await register(registration({ id: "v-private", tags: ["vis"], visibility: "private" }), bob);
    await register(registration({ id: "v-public", tags: ["vis"], visibility: "public" }), bob);
    await stream.next((m) => m.type === "event" && m.serviceId === "v-public");
    await server.request("/api/services/v-public", { method: "PATCH", json: { visibility: "private" }, token: bob });
    const hidden = await stream.next((m) => m.type === "event" && m.serviceId === "v-public" && m.reason === "hidden");
    expect(hidden.type === "event" && hidden.service).toBeUndefined();
    expect(stream.messages.some((m) => m.type === "event" && m.serviceId === "v-private")).toBe(false);
    stream.close();
  });

  it("resumes from a revision: changes made while disconnected arrive exactly once, then live ones", async () => {
    const first = await connect(alice, { filter: { tag: ["resume"] } });
    const snapshot = await first.next((m) => m.type === "snapshot");
    const seen = snapshot.type === "snapshot" ? snapshot.revision : 0;
    first.close();
    for (let i = 0; i < 5; i++) await register(registration({ id: `res-${i}`, tags: ["resume"] }));
    await register(registration({ id: "res-other", tags: ["elsewhere"] }));
    const second = await connect(alice, { filter: { tag: ["resume"] }, fromRevision: seen });
    await second.next((m) => m.type === "resumed");
    await register(registration({ id: "res-live", tags: ["resume"] }));
    await second.next((m) => m.type === "event" && m.serviceId === "res-live");
    const ids = second.messages.flatMap((m) => (m.type === "event" ? [m.serviceId] : []));
    expect(ids).toEqual(["res-0", "res-1", "res-2", "res-3", "res-4", "res-live"]);
    expect(second.messages.some((m) => m.type === "snapshot")).toBe(false);
    second.close();
  });

  it("names its epoch in snapshots and resumes; a resume point from another epoch gets a fresh snapshot, not an empty resume", async () => {
    const first = await connect(alice, { filter: { tag: ["epoch"] } });
    const snapshot = await first.next((m) => m.type === "snapshot");
    first.close();
    const epoch = snapshot.type === "snapshot" ? snapshot.epoch : "";
    expect(epoch).toMatch(/^[0-9a-f-]{36}$/);
    const revision = snapshot.type === "snapshot" ? snapshot.revision : 0;
    await register(registration({ id: "epoch-1", tags: ["epoch"] }));

    const same = await connect(alice, { filter: { tag: ["epoch"] }, fromRevision: revision, epoch });
    const resumed = await same.next((m) => m.type === "resumed");
    expect(resumed.type === "resumed" && resumed.epoch).toBe(epoch);
    expect(same.messages.some((m) => m.type === "event" && m.serviceId === "epoch-1")).toBe(true);
    same.close();

    // The same revision number from another history (e.g. before the data directory was wiped).
    const other = await connect(alice, { filter: { tag: ["epoch"] }, fromRevision: revision + 1, epoch: "another-history" });
    const fresh = await other.next((m) => m.type === "snapshot");
    expect(fresh.type === "snapshot" && fresh.reason).toBe("epoch_changed");
    expect(fresh.type === "snapshot" && fresh.epoch).toBe(epoch);
    expect(fresh.type === "snapshot" && fresh.services.map((s) => s.id)).toEqual(["epoch-1"]);
    expect(other.messages.some((m) => m.type === "resumed")).toBe(false);
    other.close();
  });

  it("sends a new snapshot to a client too far behind instead of a gap", async () => {
    const stream0 = await connect(alice, {});
    const snapshot0 = await stream0.next((m) => m.type === "snapshot");
    stream0.close();
    const old = snapshot0.type === "snapshot" ? snapshot0.revision : 0;
    // More changes than the server retains (eventRetention 100).
    for (let i = 0; i < 120; i++) await register(registration({ id: `far-${i % 3}`, tags: ["far"], description: `v${i}` }));
    const stream = await connect(alice, { fromRevision: old });
    const snapshot = await stream.next((m) => m.type === "snapshot");
    expect(snapshot.type === "snapshot" && snapshot.reason).toBe("too_far_behind");
    expect(snapshot.type === "snapshot" && snapshot.services.find((s) => s.id === "far-2")?.description).toBe("v119");
    stream.close();
  });

  it("answers a malformed message with an error and keeps the stream open", async () => {
    const stream = await connect(alice, {});
    await stream.next((m) => m.type === "snapshot");
    stream.socket.send("{not json");
    const error = await stream.next((m) => m.type === "error");
    expect(error.type === "error" && error.error.code).toBe("invalid_json");
    stream.socket.send(JSON.stringify({ type: "ping" }));
    await stream.next((m) => m.type === "pong");
    stream.close();
  });
});
