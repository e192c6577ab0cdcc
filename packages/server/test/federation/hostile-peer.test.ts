// What a peer must not be able to do, tried by a peer under the test's control (real handshake, real
// signatures): forged statements and messages, replays, stale messages, messages from another key,
// records claiming another origin, tombstones for another origin's records. Each is refused and counted by
// its KLP code, and none of it reaches discovery. Also: a record whose statement runs out is dropped.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { klp, type ServiceRecord } from "@kai/protocol";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { nodeDid } from "../klp/support.js";
import { FAST_FEDERATION, addPeer, eventually, listRemote } from "./support.js";
import { FakePeer, recordStatement, tombstone } from "./fake-peer.js";

let a: TestServer;
let b: TestServer;
let fake: FakePeer;
let didB: string;
const stranger = klp.generateKeyPair();

const where = (records: ServiceRecord[]) => records.map((r) => `${r.id}@${r.origin === didB ? "b" : r.origin === fake.identity.did ? "fake" : r.origin}`).sort();
const rejectedBy = async (did: string) => klp.PeerInfoSchema.parse(await (await a.request(`/api/peers/${encodeURIComponent(did)}`)).json()).rejected;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer({ config: { federation: FAST_FEDERATION } }), startTestServer()]);
  didB = await nodeDid(b);
  fake = await FakePeer.start();
  expect((await b.request("/api/services/register", { method: "POST", json: registration({ id: "b-svc" }) })).status).toBe(201);
  const f = fake.identity;
  fake.statements = [
    recordStatement(f.did, "f-good", 1, f),
    // Claims to be the fake's own record, but signed by another key.
    recordStatement(f.did, "f-forged", 2, stranger),
    // Correctly signed by the fake, but claims B as origin: a peer may only speak for itself.
    recordStatement(didB, "b-fake", 3, f),
  ];
  fake.revision = 3;
  expect((await addPeer(a, b)).status).toBe(201);
  expect((await addPeer(a, { url: fake.url } as TestServer)).status).toBe(201);
  await fake.whenSubscribed();
});
afterAll(async () => {
  await Promise.all([a.dispose(), b.dispose()]);
  await fake.close();
});

describe("a hostile peer", () => {
  it("gets only its own, correctly signed records imported", async () => {
    const remote = await eventually(() => listRemote(a), (records) => records.length >= 2);
    expect(where(remote)).toEqual(["b-svc@b", "f-good@fake"]);
    expect(await rejectedBy(fake.identity.did)).toEqual({ KLP_BAD_SIGNATURE: 1, KLP_UNAUTHORIZED: 1 });
  });

  it("cannot delete another origin's record with a tombstone", async () => {
    await fake.pushText(JSON.stringify(fake.pushEnvelope(tombstone(didB, "b-svc", 99, fake.identity))));
    await eventually(() => rejectedBy(fake.identity.did), (rejected) => rejected.KLP_UNAUTHORIZED === 2);
    expect(where(await listRemote(a))).toEqual(["b-svc@b", "f-good@fake"]);
  });

  it("cannot get forged, replayed, stale or foreign messages through", async () => {
    const valid = fake.pushEnvelope(recordStatement(fake.identity.did, "f-two", 4, fake.identity));
    const forged = { ...valid, payload: { ...valid.payload, statements: [recordStatement(fake.identity.did, "f-evil", 5, fake.identity)] } };
    const stale = fake.pushEnvelope(recordStatement(fake.identity.did, "f-stale", 6, fake.identity), { timestamp: new Date(Date.now() - 3_600_000) });
    const foreign = fake.pushEnvelope(recordStatement(fake.identity.did, "f-foreign", 7, fake.identity), { signer: stranger });
    for (const envelope of [valid, valid, forged, stale, foreign]) await fake.pushText(JSON.stringify(envelope));
    const rejected = await eventually(() => rejectedBy(fake.identity.did), (r) => (r.KLP_REPLAY ?? 0) + (r.KLP_STALE ?? 0) + (r.KLP_UNKNOWN_SENDER ?? 0) >= 3 && r.KLP_BAD_SIGNATURE === 2);
    expect(rejected).toEqual({ KLP_BAD_SIGNATURE: 2, KLP_UNAUTHORIZED: 2, KLP_REPLAY: 1, KLP_STALE: 1, KLP_UNKNOWN_SENDER: 1 });
    expect(where(await listRemote(a))).toEqual(["b-svc@b", "f-good@fake", "f-two@fake"]);
    const discovered = (await (await fetch(`${a.url}/klp/discover?location=remote`)).json()) as klp.KlpDiscoveryAnswer;
    expect(discovered.entries.map((e) => e.serviceId).sort()).toEqual(["b-svc", "f-good", "f-two"]);
  });

  it("deletes its own record with a tombstone, and an older statement cannot bring it back", async () => {
    await fake.pushText(JSON.stringify(fake.pushEnvelope(tombstone(fake.identity.did, "f-two", 8, fake.identity))));
    await eventually(() => listRemote(a), (records) => !records.some((r) => r.id === "f-two"));
    await fake.pushText(JSON.stringify(fake.pushEnvelope(recordStatement(fake.identity.did, "f-two", 4, fake.identity))));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(where(await listRemote(a))).toEqual(["b-svc@b", "f-good@fake"]);
  });

  it("sees a record dropped once its statement runs out (the origin stopped vouching for it)", async () => {
    const now = Date.now();
    const shortLived = recordStatement(fake.identity.did, "f-brief", 9, fake.identity, {
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 1500).toISOString(),
    });
    await fake.pushText(JSON.stringify(fake.pushEnvelope(shortLived)));
    await eventually(() => listRemote(a), (records) => records.some((r) => r.id === "f-brief"));
    await eventually(() => listRemote(a), (records) => !records.some((r) => r.id === "f-brief"), 5000);
  });
});
