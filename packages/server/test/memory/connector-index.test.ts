/**
 * The connector memory index (src/memory/connector-index.ts) on Qdrant and on Chroma, each the project's fake of the
 * product's REST wire format (test/gateway/fakes/; neither server can be started here: no npm or Debian package),
 * reached the way the node reaches it: a service registered in a real registry (memory store, change feed), its
 * key in a real vault, the gateway's credential resolver and the real connector. Per backend: the vector index
 * contract; a selective filter at scale (1 in 50 of 5,000 vectors) that must still return the exact best `k`, and a
 * half-selective one that needs the growing rounds; the store down (IndexUnavailableError, writes queued, then
 * replayed by the probe); an unknown service; and through the real memory service: 503 memory_index_unavailable
 * while the store is down, nothing lost, and a second start that upserts the same points instead of doubling them.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Principal } from "../../src/auth/principal.js";
import { ApiError } from "../../src/errors.js";
import { CredentialResolver } from "../../src/gateway/router/credentials.js";
import { createConnectorIndex, type ConnectorIndex, type ConnectorIndexSettings } from "../../src/memory/connector-index.js";
import { FlatPartition } from "../../src/memory/flat-partition.js";
import type { Embedder } from "../../src/memory/gateway-embedder.js";
import { MemoryService, partitionOf } from "../../src/memory/memory-service.js";
import { IndexUnavailableError } from "../../src/memory/vector-index.js";
import { openStore } from "../../src/storage/index.js";
import { startChromaFake } from "../gateway/fakes/chroma-fake.js";
import type { FakeUpstream } from "../gateway/fakes/fake-server.js";
import { startQdrantFake } from "../gateway/fakes/qdrant-fake.js";
import { ADMIN, openRouterHarness, type RouterHarness } from "../gateway/router/harness.js";
import { EMBED_DIMENSIONS, EMBED_MODEL, embedText } from "./embedding-fake.js";
import { clusteredVectors, runVectorIndexContract } from "./vector-index-contract.js";

const KEY = "vector-store-key-5d1e";
const logger = pino({ level: "silent" });

interface Backend {
  name: "qdrant" | "chroma";
  start(): Promise<{ fake: FakeUpstream; points(collection: string): number }>;
}

const BACKENDS: Backend[] = [
  {
    name: "qdrant",
    async start() {
      const { fake, collections } = await startQdrantFake({ requireKey: KEY });
      return { fake, points: (collection) => collections.get(collection)?.points.size ?? 0 };
    },
  },
  {
    name: "chroma",
    async start() {
      const { fake, collections } = await startChromaFake({ requireKey: KEY });
      return { fake, points: (collection) => collections.get(collection)?.records.size ?? 0 };
    },
  },
];

const id = (index: number) => `mem_${String(index).padStart(12, "0")}`;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` passes (the probe caught up), at most 5 s. */
async function caughtUp(index: ConnectorIndex): Promise<void> {
  for (let waited = 0; ; waited += 20) {
    try {
      index.check();
      return;
    } catch (error) {
      if (!(error instanceof IndexUnavailableError) || waited > 5_000) throw error;
      await wait(20);
    }
  }
}

for (const backend of BACKENDS) {
  describe(`connector memory index on ${backend.name}`, () => {
    let harness: RouterHarness;
    let store: Awaited<ReturnType<Backend["start"]>>;
    let credentials: CredentialResolver;
    let counter = 0;

    /** A fresh index with a prefix of its own (its collections apart from every other test's). */
    const make = (settings: Partial<ConnectorIndexSettings> = {}) =>
      createConnectorIndex({ services: harness.store, credentials, logger }, { service: "vectors", collectionPrefix: `t${++counter}-`, probeIntervalMs: 30, ...settings });

    beforeAll(async () => {
      store = await backend.start();
      harness = await openRouterHarness();
      await harness.vault.putSecret("memory/vectors", { value: KEY }, { tokenId: "tok-admin", owner: "root", scopes: ["admin"] });
      await harness.register({ id: "vectors", url: store.fake.url, provider: backend.name, capabilities: ["vector_storage"], auth: { type: "api_key", credentialRef: "vault:memory/vectors" } }, ADMIN);
      credentials = new CredentialResolver({ vault: harness.vault, env: {}, cacheMs: 60_000 });
    });
    afterAll(async () => {
      await store.fake.close();
      await harness.close();
    });

    runVectorIndexContract(backend.name, () => make(), { minRecall: 1 });

    it("returns the exact best k under a 1-in-50 filter over 5,000 vectors, and under a 1-in-2 one", async () => {
      const dims = 24;
      const vectors = clusteredVectors(5_000, dims, 11);
      const index = make();
      await index.addMany("p", vectors.map((vector, at) => ({ id: id(at), vector })));
      expect(index.size("p")).toBe(5_000);
      const all = new FlatPartition(dims);
      vectors.forEach((vector, at) => all.set(id(at), vector));
      // Vector i is in cluster i % 20, and both queries are in odd clusters: the 1-in-50 filter takes ids of clusters 7
      // and 17 only (near enough to query 3 that its 20th accepted vector is 875th nearest of all, so the growing
      // rounds find it; far from query 4321: 1,793rd, beyond the 1,000 a query answers, so the ids go to the store),
      // the 1-in-2 one even clusters only (the growing rounds find them).
      const pushDowns: boolean[] = [];
      for (const [every, rest] of [[50, 7], [2, 0]] as const) {
        const accept = (memory: string) => Number(memory.slice(4)) % every === rest;
        const exact = new FlatPartition(dims);
        vectors.forEach((vector, at) => {
          if (accept(id(at))) exact.set(id(at), vector);
        });
        for (const query of [vectors[3]!, vectors[4321]!]) {
          const before = store.fake.requests.length;
          const hits = await index.search({ partition: "p", query, k: 20, accept });
          expect(hits.map((hit) => hit.id)).toEqual(exact.search(query, 20).map((hit) => hit.id));
          // The rounds are bounded: k, 4k, 16k, 64k capped at 1,000, then one query per chunk of accepted ids (Chroma reads the collection first each time).
          const sent = store.fake.requests.slice(before);
          expect(sent.length).toBeLessThanOrEqual(backend.name === "chroma" ? 12 : 6);
          const ranked = all.search(query, 5_000);
          const kth = ranked.filter((hit) => accept(hit.id))[19]!;
          const position = ranked.findIndex((hit) => hit.id === kth.id);
          const pushedDown = JSON.stringify(sent.map((request) => request.body)).includes('"kai_memory"');
          expect(pushedDown).toBe(position >= 1_000);
          pushDowns.push(pushedDown);
        }
      }
      expect(pushDowns).toEqual([false, true, false, false]);
    });

    it("refuses searches while the store is down, queues writes, and replays them when it is back", async () => {
      const index = make();
      const vectors = clusteredVectors(40, 8, 3);
      await index.addMany("p", vectors.slice(0, 30).map((vector, at) => ({ id: id(at), vector })));
      const collection = index.collectionOf("p", 8);
      expect(store.points(collection)).toBe(30);

      store.fake.scenario = { kind: "status", status: 503 };
      // A write that fails is not refused (its row is durable already): it waits in the queue, and the index is down.
      await index.addMany("p", vectors.slice(30, 35).map((vector, at) => ({ id: id(30 + at), vector })));
      expect(() => index.check()).toThrow(IndexUnavailableError);
      await expect(index.search({ partition: "p", query: vectors[0]!, k: 3 })).rejects.toBeInstanceOf(IndexUnavailableError);
      // Writes while down go to the queue without a call.
      await index.addMany("p", vectors.slice(35).map((vector, at) => ({ id: id(35 + at), vector })));
      await index.remove("p", [id(0), id(1)]);
      expect(index.size("p")).toBe(38);
      await wait(100);
      expect(() => index.check()).toThrow(IndexUnavailableError);
      expect(store.points(collection)).toBe(30);

      store.fake.scenario = { kind: "ok" };
      await caughtUp(index);
      expect(store.points(collection)).toBe(38);
      const hits = await index.search({ partition: "p", query: vectors[0]!, k: 40 });
      expect(hits).toHaveLength(38);
      expect(hits.map((hit) => hit.id)).not.toContain(id(0));
      expect(hits.map((hit) => hit.id)).toContain(id(39));
      await index.close();
    });

    it("is unavailable while its service is not registered (or not by the pinned owner), and catches up once it is", async () => {
      const pinned = make({ owner: "someone-else" });
      await pinned.add("p", "x", new Float32Array([1, 0]));
      expect(() => pinned.check()).toThrow(/not owned by someone-else/);
      await pinned.close();
      const index = make({ service: `later-${backend.name}`, owner: ADMIN.owner });
      await index.add("p", "x", new Float32Array([1, 0]));
      expect(() => index.check()).toThrow(/no service later-/);
      await harness.register({ id: `later-${backend.name}`, url: store.fake.url, provider: backend.name, capabilities: ["vector_storage"], auth: { type: "api_key", credentialRef: "vault:memory/vectors" } }, ADMIN);
      await caughtUp(index);
      expect(await index.search({ partition: "p", query: new Float32Array([1, 0]), k: 1 })).toEqual([{ id: "x", score: expect.closeTo(1, 5) as number }]);
      await index.close();
    });

    it("reads its key again after the store refused it, through the gateway's own credential cache (a rotated secret)", async () => {
      const actor = { tokenId: "tok-admin", owner: "root", scopes: ["admin" as const] };
      await harness.vault.putSecret(`memory/rotated-${backend.name}`, { value: "a-key-the-store-refuses" }, actor);
      await harness.register({ id: `rotated-${backend.name}`, url: store.fake.url, provider: backend.name, capabilities: ["vector_storage"], auth: { type: "api_key", credentialRef: `vault:memory/rotated-${backend.name}` } }, ADMIN);
      // A router that caches credentials for a minute; the index reads through its resolver: one cache for both.
      const router = await harness.newRouter({ credentialCacheMs: 60_000 });
      const index = createConnectorIndex({ services: harness.store, credentials: router.credentialResolver(), logger }, { service: `rotated-${backend.name}`, collectionPrefix: `t${++counter}-`, probeIntervalMs: 30 });
      await index.add("p", "x", new Float32Array([1, 0]));
      expect(() => index.check()).toThrow(/upstream_auth_failed/);
      // The operator fixes the secret: the refused key was forgotten, so the next probe reads the new one (not in a minute).
      await harness.vault.putSecret(`memory/rotated-${backend.name}`, { value: KEY }, actor);
      await caughtUp(index);
      expect(await index.search({ partition: "p", query: new Float32Array([1, 0]), k: 1 })).toEqual([{ id: "x", score: expect.closeTo(1, 5) as number }]);
      await index.close();
      router.stop();
    });

    it("through the memory service: 503 memory_index_unavailable while down, nothing lost, and a restart upserts instead of doubling", async () => {
      const rows = await openStore({ kind: "memory" });
      const embedder: Embedder = { embed: async (_principal, texts) => ({ model: EMBED_MODEL, vectors: texts.map(embedText) }) };
      const alice: Principal = { tokenId: "t-alice", owner: "alice", scopes: ["memory:read", "memory:write"], expiresAt: Number.MAX_SAFE_INTEGER };
      const prefix = `svc${backend.name}-`;
      const open = async () => {
        const index = make({ collectionPrefix: prefix });
        const service = new MemoryService({ store: rows.semanticMemoryStore(), index, embedder, logger });
        await service.start();
        return { index, service };
      };
      const add = (text: string) => ({ text, namespace: "default", metadata: {}, relations: [] });
      const search = (service: MemoryService, q: string) => service.search({ q, namespace: "default", limit: 10 }, {}, alice);

      const first = await open();
      await first.service.add(add("the boiler is serviced every october"), alice);
      await first.service.add(add("the bike lock code is 1234"), alice);
      store.fake.scenario = { kind: "status", status: 503 };
      const refused = await search(first.service, "bike lock").then(() => null, (error: unknown) => error);
      expect(refused).toBeInstanceOf(ApiError);
      expect((refused as ApiError).code).toBe("memory_index_unavailable");
      await expect(first.service.add(add("the wifi password is on the fridge"), alice)).rejects.toMatchObject({ code: "memory_index_unavailable" });
      store.fake.scenario = { kind: "ok" };
      await caughtUp(first.index);
      expect((await search(first.service, "bike lock code")).results[0]!.memory.text).toBe("the bike lock code is 1234");
      await first.index.close();

      // A second start on the same rows and store: the points it finds there are not sent again, nor doubled.
      const before = store.fake.requests.length;
      const second = await open();
      const uploads = store.fake.requests.slice(before).filter((request) => /\/points$|\/upsert$/.test(request.path));
      expect(uploads).toEqual([]);
      expect(store.points(second.index.collectionOf(partitionOf("alice", "default", EMBED_MODEL), EMBED_DIMENSIONS))).toBe(2);
      expect((await search(second.service, "boiler october")).results[0]!.memory.text).toBe("the boiler is serviced every october");
      await second.index.close();
      await rows.close();
    });
  });
}
