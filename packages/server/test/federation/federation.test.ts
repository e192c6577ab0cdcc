// Federation between real servers on loopback (in this process): peers added through the API, public
// records exported, signed and checked, pushed on change and pulled from a cursor, deletes as tombstones,
// imported records read-only and shown with their origin, trust withdrawn → records gone and link cut.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp, type ServiceRecord } from "@kai/protocol";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { nodeDid } from "../klp/support.js";
import { FAST_FEDERATION, addPeer, eventually, ids, listRemote } from "./support.js";

let a: TestServer;
let b: TestServer;
let didA: string;
let didB: string;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer({ config: { federation: FAST_FEDERATION } }), startTestServer({ config: { federation: FAST_FEDERATION } })]);
  [didA, didB] = await Promise.all([nodeDid(a), nodeDid(b)]);
  for (const [id, visibility] of [["b-public", "public"], ["b-internal", "internal"], ["b-private", "private"]] as const) {
    const response = await b.request("/api/services/register", { method: "POST", json: registration({ id, visibility, capabilities: ["llm_chat"], tags: ["gpu"] }) });
    expect(response.status).toBe(201);
  }
});
afterAll(async () => Promise.all([a.dispose(), b.dispose()]));

describe("adding a peer", () => {
  it("pins the DID its node document names and shows it", async () => {
    const response = await addPeer(a, b);
    expect(response.status, await response.clone().text()).toBe(201);
    const peer = klp.PeerInfoSchema.parse(await response.json());
    expect(peer).toMatchObject({ did: didB, url: b.url, trusted: true });
  });

  it("refuses a URL whose node is not the pinned DID", async () => {
    const response = await addPeer(a, b, { did: didA });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("peer_identity_mismatch");
  });

  it("refuses an unreachable URL with peer_unreachable", async () => {
    const response = await a.request("/api/peers", { method: "POST", json: { url: "http://127.0.0.1:9/" } });
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("peer_unreachable");
  });
});

describe("import", () => {
  it("brings B's public records (never internal or private) to A, with B as origin", async () => {
    const remote = await eventually(() => listRemote(a), (records) => records.length >= 1);
    expect(ids(remote)).toEqual(["b-public"]);
    expect(remote[0]).toMatchObject({ origin: didB, visibility: "public", auth: { type: "none" } });
    expect(remote[0]!.originExpiresAt).toBeDefined();
  });

  it("keeps local listings local by default, and shows both with location=all", async () => {
    await a.request("/api/services/register", { method: "POST", json: registration({ id: "a-local" }) });
    const local = (await (await a.request("/api/services")).json()) as { services: ServiceRecord[] };
    expect(ids(local.services)).toEqual(["a-local"]);
    const all = (await (await a.request("/api/services?location=all")).json()) as { services: ServiceRecord[] };
    expect(all.services.map((r) => `${r.id}@${r.origin ?? "here"}`)).toEqual(["a-local@here", `b-public@${didB}`]);
    const byOrigin = (await (await a.request(`/api/services?origin=${encodeURIComponent(didB)}`)).json()) as { services: ServiceRecord[] };
    expect(ids(byOrigin.services)).toEqual(["b-public"]);
  });

  it("pushes a change and a deletion (tombstone) to A", async () => {
    await b.request("/api/services/register", { method: "POST", json: registration({ id: "b-new", capabilities: ["embeddings"] }) });
    await eventually(() => listRemote(a), (records) => ids(records).includes("b-new"));
    await b.request("/api/services/b-new", { method: "PATCH", json: { description: "changed" } });
    await eventually(() => listRemote(a), (records) => records.find((r) => r.id === "b-new")?.description === "changed");
    expect((await b.request("/api/services/b-new", { method: "DELETE" })).status).toBe(204);
    await eventually(() => listRemote(a), (records) => !ids(records).includes("b-new"));
  });

  it("drops a record that stops being public", async () => {
    await b.request("/api/services/register", { method: "POST", json: registration({ id: "b-hide" }) });
    await eventually(() => listRemote(a), (records) => ids(records).includes("b-hide"));
    await b.request("/api/services/b-hide", { method: "PATCH", json: { visibility: "private" } });
    await eventually(() => listRemote(a), (records) => !ids(records).includes("b-hide"));
  });

  it("is one-way: B imports nothing from A until B adds A", async () => {
    expect(await listRemote(b)).toEqual([]);
  });

  it("filters imported records like local ones, and pages through them", async () => {
    expect(ids(await listRemote(a, "&capability=llm_chat&tag=gpu"))).toEqual(["b-public"]);
    expect(await listRemote(a, "&capability=image_generation")).toEqual([]);
    const first = (await (await a.request("/api/services?location=all&limit=1")).json()) as { services: ServiceRecord[]; nextCursor: string | null };
    expect(ids(first.services)).toEqual(["a-local"]);
    expect(first.nextCursor).not.toBeNull();
    const second = (await (await a.request(`/api/services?location=all&limit=1&cursor=${encodeURIComponent(first.nextCursor!)}`)).json()) as {
      services: ServiceRecord[];
      nextCursor: string | null;
    };
    expect(ids(second.services)).toEqual(["b-public"]);
  });

  it("answers KLP discovery with remote entries signed by their origin", async () => {
    const response = await fetch(`${a.url}/klp/discover?location=remote`);
    const answer = (await response.json()) as klp.KlpDiscoveryAnswer;
    expect(answer.entries.map((e) => [e.serviceId, e.location, e.origin, e.signer])).toEqual([["b-public", "remote", didB, didB]]);
    expect(answer.entries[0]!.address).toBe(klp.formatKlpAddress("b-public", didB));
  });

  it("reports the peer's sync state", async () => {
    // Pushes apply at once but move the pull cursor only on the next periodic pull: under load the lag may
    // still count the last tests' changes, so wait for the pull that catches up.
    const peers = await eventually(
      async () => klp.PeerListResponseSchema.parse(await (await a.request("/api/peers")).json()).peers,
      (list) => list.length === 1 && list[0]!.lagRevisions === 0,
    );
    expect(peers).toHaveLength(1);
    expect(peers[0]).toMatchObject({ did: didB, state: "connected", importedRecords: 1, lagRevisions: 0 });
    expect(peers[0]!.lastContact).not.toBeNull();
    const metrics = await (await a.request("/metrics")).text();
    expect(metrics).toContain(`kai_federation_imported_records{peer="${didB}"} 1`);
    expect(metrics).toContain(`kai_federation_peer_connected{peer="${didB}"} 1`);
  });
});

describe("no re-export", () => {
  it("a node that imported B's records does not pass them on as its own (or at all)", async () => {
    const c = await startTestServer({ config: { federation: FAST_FEDERATION } });
    try {
      expect((await addPeer(c, a)).status).toBe(201);
      // A has B's b-public imported, and its own a-local (public by default): C gets only a-local, from A.
      const didA = await nodeDid(a);
      const remote = await eventually(() => listRemote(c), (records) => records.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await listRemote(c)).map((r) => `${r.id}@${r.origin === didA ? "a" : r.origin}`)).toEqual(["a-local@a"]);
      expect(remote.every((r) => r.origin === didA)).toBe(true);
    } finally {
      await c.dispose();
    }
  });
});

describe("trust", () => {
  it("withdrawn: B's records are dropped and B is cut off; given back: they return", async () => {
    const did = encodeURIComponent(didB);
    const untrusted = await a.request(`/api/peers/${did}`, { method: "PATCH", json: { trusted: false } });
    expect(untrusted.status).toBe(200);
    expect(klp.PeerInfoSchema.parse(await untrusted.json())).toMatchObject({ trusted: false, state: "untrusted", importedRecords: 0 });
    expect(await listRemote(a)).toEqual([]);
    await b.request("/api/services/register", { method: "POST", json: registration({ id: "b-while-cut" }) });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await listRemote(a)).toEqual([]);
    await a.request(`/api/peers/${did}`, { method: "PATCH", json: { trusted: true } });
    await eventually(() => listRemote(a), (records) => ids(records).join() === "b-public,b-while-cut");
  });

  it("removed: the peer and its records are gone", async () => {
    expect((await a.request(`/api/peers/${encodeURIComponent(didB)}`, { method: "DELETE" })).status).toBe(204);
    expect(await listRemote(a)).toEqual([]);
    expect(((await (await a.request("/api/peers")).json()) as { peers: unknown[] }).peers).toEqual([]);
    expect((await a.request(`/api/peers/${encodeURIComponent(didB)}`)).status).toBe(404);
  });
});
