/**
 * `client.peers` and `inspectNode` against two real servers: inspect a node's signed DID, add it as a peer,
 * see its public records through `services.list({ location: "remote" })` and a remote watch, read the peer's
 * sync state, withdraw trust, remove it; federation errors arrive as `KaiApiError`s with their codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KaiApiError, inspectNode, type KaiClient } from "@kai/sdk";
import { definition, eventually, startRegistry, type RegistryFixture } from "./helpers/registry-server.js";

const FAST = { federation: { pullIntervalMs: 200, refreshIntervalMs: 5000, recordTtlSeconds: 3600, sweepIntervalMs: 100 } };
let here: RegistryFixture;
let there: RegistryFixture;
let federationAdmin: KaiClient;

beforeAll(async () => {
  [here, there] = await Promise.all([startRegistry(FAST), startRegistry(FAST)]);
  federationAdmin = await here.clientWith(["federation:admin", "services:read"], "ops");
  await there.admin.services.register(definition("over-there", { capabilities: ["embeddings"], visibility: "public" }));
});
afterAll(async () => {
  await Promise.all([here?.close(), there?.close()]);
});

describe("client.peers", () => {
  it("inspects a node's signed identity, adds it, and lists its public records as remote", async () => {
    const identity = await inspectNode(there.url);
    expect(identity.did).toMatch(/^kind:did:/);
    const { peer, created } = await federationAdmin.peers.add({ url: there.url, did: identity.did, name: "there" });
    expect(created).toBe(true);
    expect(peer).toMatchObject({ did: identity.did, name: "there", trusted: true });
    const remote = await eventually(async () => {
      const page = await federationAdmin.services.list({ location: "remote" });
      return page.services.length > 0 ? page.services : undefined;
    });
    expect(remote.map((s) => [s.id, s.origin])).toEqual([["over-there", identity.did]]);
    expect((await federationAdmin.services.list()).services).toEqual([]);
    const all: string[] = [];
    // listAll follows one cursor across local and remote records.
    for await (const service of federationAdmin.services.listAll({ location: "all" })) all.push(service.id);
    expect(all).toEqual(["over-there"]);
  });

  it("watches local and remote records together, keyed by id and id@origin", async () => {
    const identity = await inspectNode(there.url);
    await here.admin.services.register(definition("over-there", { capabilities: ["embeddings"] }));
    const watcher = federationAdmin.watch({ filter: { location: "all", capability: ["embeddings"] } });
    try {
      await eventually(() => watcher.services.size === 2);
      expect([...watcher.services.keys()].sort()).toEqual(["over-there", `over-there@${identity.did}`]);
      await there.admin.services.register(definition("arrives", { capabilities: ["embeddings"], visibility: "public" }));
      await eventually(() => watcher.services.has(`arrives@${identity.did}`));
      await there.admin.services.remove("arrives");
      await eventually(() => !watcher.services.has(`arrives@${identity.did}`));
      expect(watcher.services.has("over-there")).toBe(true);
    } finally {
      watcher.close();
      await here.admin.services.remove("over-there");
    }
  });

  it("reports sync state, syncs on demand, withdraws trust and removes", async () => {
    const [peer] = await federationAdmin.peers.list();
    expect(peer).toMatchObject({ state: "connected", importedRecords: 1 });
    const synced = await federationAdmin.peers.sync();
    expect(synced[0]?.lagRevisions).toBe(0);
    const untrusted = await federationAdmin.peers.setTrusted(peer!.did, false);
    expect(untrusted).toMatchObject({ trusted: false, state: "untrusted", importedRecords: 0 });
    await federationAdmin.peers.remove(peer!.did);
    expect(await federationAdmin.peers.list()).toEqual([]);
  });

  it("turns federation errors into KaiApiErrors with their codes", async () => {
    const identity = await inspectNode(there.url);
    const mismatch = await federationAdmin.peers.add({ url: here.url, did: identity.did }).catch((error: unknown) => error);
    expect(mismatch).toBeInstanceOf(KaiApiError);
    expect((mismatch as KaiApiError).code).toBe("peer_identity_mismatch");
    const missing = await federationAdmin.peers.get(identity.did).catch((error: unknown) => error);
    expect((missing as KaiApiError).code).toBe("not_found");
    const reader = await here.clientWith(["services:read"], "someone");
    const denied = await reader.peers.list().catch((error: unknown) => error);
    expect((denied as KaiApiError).status).toBe(403);
    await expect(inspectNode("http://127.0.0.1:9/")).rejects.toThrow();
  });
});
