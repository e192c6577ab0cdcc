// Federation when one node runs as two instances on one PostgreSQL: two FederationService objects, each with its own
// store opened on the same database, the same node key, and federation's coordination port over an in-process bus
// (signal-bus.ts). The peer is a real server on loopback. Only the leader runs peer links (moving leadership moves
// them, resuming from the stored cursor); peers changed on a follower reach the leader, which starts or cuts the
// link; what the leader imports reaches the follower's directory and its listeners; any instance answers
// `state_sync` from the shared log. PostgreSQL is started by the test (test/helpers/postgres-server.ts).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { klp, type ServiceRecord } from "@kai/protocol";
import { startPostgres } from "../helpers/postgres-server.js";
import { registration, startTestServer, type TestServer } from "../helpers/test-server.js";
import { nodeDid } from "../klp/support.js";
import { openStore } from "../../src/storage/index.js";
import type { StorageBackend } from "../../src/storage/contracts/storage-backend.js";
import type { ServiceDraft } from "../../src/storage/contracts/node-store.js";
import { ChangeFeed } from "../../src/registry/change-feed.js";
import { connectPeer } from "../../src/klp/peer-session.js";
import { FederationService } from "../../src/federation/federation-service.js";
import type { RemoteChange } from "../../src/federation/imported-directory.js";
import { FAST_FEDERATION, eventually } from "./support.js";
import { SignalBus } from "./signal-bus.js";

const postgres = await startPostgres();

interface Instance {
  store: StorageBackend;
  federation: FederationService;
  /** Remote changes the instance's directory announced (what its watch streams would send). */
  heard: RemoteChange[];
}

/** One node: its key, its registry epoch; each test gets its own database. */
const node = klp.generateKeyPair();
const EPOCH = "cluster-test-epoch";
let peer: TestServer;
let peerDid: string;
const running: Instance[] = [];

beforeAll(async () => {
  if (!postgres) return;
  peer = await startTestServer({ config: { federation: FAST_FEDERATION } });
  peerDid = await nodeDid(peer);
  const response = await peer.request("/api/services/register", { method: "POST", json: registration({ id: "p-public", capabilities: ["llm_chat"] }) });
  expect(response.status).toBe(201);
});
afterEach(async () => {
  for (const instance of running.splice(0)) {
    await instance.federation.close();
    await instance.store.close();
  }
});
afterAll(async () => {
  await peer?.dispose();
  await postgres?.stop();
});

async function instance(url: string, bus: SignalBus): Promise<Instance> {
  const store = await openStore({ kind: "postgres", url, poolSize: 3 });
  const federation = await FederationService.start({
    store: store.federationStore(),
    registryStore: store,
    feed: new ChangeFeed(await store.currentRevision(), 1000),
    did: node.did,
    identity: () => node,
    epoch: EPOCH,
    settings: { exportTo: "anyone", ...FAST_FEDERATION },
    logger: pino({ level: "silent" }),
    connect: (at, did) => connectPeer(at, node, "ws", { expectDid: did }),
    coordination: bus.port(),
  });
  const heard: RemoteChange[] = [];
  federation.directory.subscribe((change) => heard.push(change));
  const started = { store, federation, heard };
  running.push(started);
  return started;
}

async function twoInstances(): Promise<{ a: Instance; b: Instance; bus: SignalBus }> {
  const url = await postgres!.createDatabase("fedcluster");
  const bus = new SignalBus();
  const a = await instance(url, bus);
  const b = await instance(url, bus);
  return { a, b, bus };
}

const held = (instance: Instance, id: string): ServiceRecord | undefined => instance.federation.directory.get(peerDid, id)?.record;
const until = (check: () => boolean, timeoutMs?: number) => eventually(async () => check(), (done) => done, timeoutMs);

async function peerRequest(path: string, init: RequestInit & { json?: unknown }, status: number): Promise<void> {
  const response = await peer.request(path, init);
  expect(response.status, await response.clone().text()).toBe(status);
}

describe.skipIf(!postgres)("federation on two instances of one node", () => {
  it("runs the peer links on the leader only, and moves them with leadership, resuming from the stored cursor", async () => {
    const { a, b } = await twoInstances();
    await a.federation.startLinks();
    await a.federation.addPeer({ url: peer.url });
    await until(() => held(a, "p-public") !== undefined && held(b, "p-public") !== undefined);
    expect(a.federation.getPeer(peerDid).state).toBe("connected");
    // The follower knows the peer and its records, and shows the leader's link, but holds no session of its own:
    // the peer has one subscriber (sessions of earlier tests are gone once it noticed).
    expect(b.federation.runsLinks).toBe(false);
    await until(() => b.federation.getPeer(peerDid).state === "connected");
    await until(() => peer.federation.exporter.subscriberCount === 1);

    await a.federation.stopLinks();
    const stored = (await b.store.federationStore().listPeers()).find((row) => row.did === peerDid)!;
    expect(stored.cursor).toBeGreaterThan(0);
    await b.federation.startLinks();
    expect(b.federation.getPeer(peerDid).cursor).toBeGreaterThanOrEqual(stored.cursor);
    await until(() => b.federation.getPeer(peerDid).state === "connected");
    // The old leader now shows the new leader's link.
    await until(() => a.federation.getPeer(peerDid).state === "connected");
    expect(a.federation.runsLinks).toBe(false);

    await peerRequest("/api/services/register", { method: "POST", json: registration({ id: "p-moved", capabilities: ["embeddings"] }) }, 201);
    await until(() => held(b, "p-moved") !== undefined && held(a, "p-moved") !== undefined);
    await until(() => peer.federation.exporter.subscriberCount === 1);
    await peerRequest("/api/services/p-moved", { method: "DELETE" }, 204);
    await until(() => held(b, "p-moved") === undefined && held(a, "p-moved") === undefined);
  });

  it("starts the leader's link for a peer added on a follower, and brings its records to both, with their events", async () => {
    const { a, b } = await twoInstances();
    await a.federation.startLinks();
    const added = await b.federation.addPeer({ url: peer.url });
    expect(added.created).toBe(true);
    // Nothing connected from the follower itself: no link there, and no news of the leader's yet.
    expect(added.peer.state).toBe("disconnected");
    await until(() => a.federation.listPeers().some((p) => p.did === peerDid && p.state === "connected"));
    await until(() => held(a, "p-public") !== undefined && held(b, "p-public") !== undefined);
    expect(b.heard.some((change) => change.event === "registered" && change.serviceId === "p-public" && change.origin === peerDid)).toBe(true);

    // Changes the leader imports later reach the follower's directory and its listeners too.
    await peerRequest("/api/services/p-public", { method: "PATCH", json: { description: "changed on the peer" } }, 200);
    await until(() => held(b, "p-public")?.description === "changed on the peer");
    expect(b.heard.some((change) => change.event === "updated" && change.serviceId === "p-public" && change.record.description === "changed on the peer")).toBe(true);
    await peerRequest("/api/services/register", { method: "POST", json: registration({ id: "p-short" }) }, 201);
    await until(() => held(b, "p-short") !== undefined);
    await peerRequest("/api/services/p-short", { method: "DELETE" }, 204);
    await until(() => held(b, "p-short") === undefined);
    expect(b.heard.some((change) => change.event === "deregistered" && change.serviceId === "p-short")).toBe(true);
  });

  it("cuts the leader's link and drops the records everywhere when a follower withdraws trust or removes the peer", async () => {
    const { a, b } = await twoInstances();
    await a.federation.startLinks();
    await b.federation.addPeer({ url: peer.url });
    await until(() => held(a, "p-public") !== undefined && held(b, "p-public") !== undefined);

    await b.federation.setTrusted(peerDid, false);
    await until(() => a.federation.getPeer(peerDid).state === "untrusted" && a.federation.directory.countFrom(peerDid) === 0);
    expect(b.federation.directory.countFrom(peerDid)).toBe(0);
    expect(a.federation.isTrustedPeer(peerDid)).toBe(false);
    expect((await a.store.federationStore().listImports()).filter((row) => row.origin === peerDid)).toEqual([]);

    await b.federation.setTrusted(peerDid, true);
    await until(() => a.federation.getPeer(peerDid).state === "connected");
    await until(() => held(b, "p-public") !== undefined);

    await b.federation.removePeer(peerDid);
    await until(() => a.federation.listPeers().length === 0 && a.federation.directory.countFrom(peerDid) === 0);
    expect(b.federation.directory.countFrom(peerDid)).toBe(0);
    expect(await a.store.federationStore().listPeers()).toEqual([]);
  });

  it("catches up with everything when told it may have missed signals", async () => {
    const { a, b, bus } = await twoInstances();
    // Cut off from the start: the follower hears nothing of what the leader does.
    bus.dropping = true;
    await a.federation.startLinks();
    await a.federation.addPeer({ url: peer.url });
    await peerRequest("/api/services/register", { method: "POST", json: registration({ id: "p-unheard" }) }, 201);
    await until(() => held(a, "p-unheard") !== undefined && held(a, "p-public") !== undefined);
    // It re-reads only when told: without a signal it holds what it loaded at start (nothing).
    expect(b.federation.listPeers()).toEqual([]);
    expect(held(b, "p-unheard")).toBeUndefined();
    bus.dropping = false;
    bus.tellMissed();
    await until(() => held(b, "p-unheard") !== undefined && held(b, "p-public") !== undefined);
    expect(b.federation.listPeers().map((p) => p.did)).toEqual([peerDid]);
    expect(b.heard.some((change) => change.event === "registered" && change.serviceId === "p-unheard")).toBe(true);
    await peerRequest("/api/services/p-unheard", { method: "DELETE" }, 204);
    await until(() => held(b, "p-unheard") === undefined);
  });

  it("answers state_sync on any instance from the shared log, tombstoning a record that stopped being public", async () => {
    const { a, b } = await twoInstances();
    const at = new Date().toISOString();
    const draft: ServiceDraft = {
      id: "own", name: "own", description: "", type: "service", capabilities: ["llm_chat"], tags: [], auth: { type: "none" }, endpoints: [],
      owner: "alice", visibility: "public", trustLevel: "unverified", metadata: {}, heartbeat: null, status: "active", createdAt: at, updatedAt: at,
    };
    // Written through the first instance's store; neither instance's feed has seen it (no tailer here).
    const registered = await a.store.writeService({ event: "registered", record: draft });
    await a.store.writeService({ event: "updated", record: { ...draft, visibility: "private" } });
    for (const instance of [a, b]) {
      const answer = await instance.federation.answerStateSync({ sinceRevision: registered.revision, epoch: EPOCH });
      expect(answer.mode).toBe("changes");
      expect(answer.statements.map((s) => `${(s as klp.FederationStatement).kind}:${(s as klp.FederationStatement).serviceId}`)).toEqual(["tombstone:own"]);
      expect(answer.revision).toBe(registered.revision + 1);
    }
  });
});
