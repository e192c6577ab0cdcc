// The short-TTL service cache on a real Redis in front of a real PostgreSQL, two instances each with its own store
// and Redis client: misses fill, hits answer what the store holds (absent ids too); entries die after the TTL; every
// instance invalidates the changes its tailer applies, so once any instance applied a change no instance answers the
// older record, and an instance never answers older than its own feed; a read that began before a change never
// stores its old record after the change's invalidation; an invalidation lost to a Redis outage fences the cache
// anew; with Redis down every read goes to PostgreSQL and none fails.
import { describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import type { ServiceRecord } from "@kai/protocol";
import { ChangeFeed } from "../../../src/registry/change-feed.js";
import { RedisServiceCache, withServiceCache } from "../../../src/cluster/redis/redis-service-cache.js";
import type { ServiceRecordStore } from "../../../src/storage/contracts/node-store.js";
import type { PostgresStore } from "../../../src/storage/postgres/pg-store.js";
import { draft, registered } from "../../storage/__fixtures__/records.js";
import { closeRedisClient, openStore, redisClient, silent, tailedFeed, until } from "./support.js";
import { cleanupAfterEach, useRealServers } from "../support/real-servers.js";

const TTL_MS = 60_000;

const servers = useRealServers();

/** Everything a test opened, closed after it in reverse order. */
const cleanup = cleanupAfterEach();

interface Instance {
  store: PostgresStore;
  client: Redis;
  cache: RedisServiceCache;
}

/** Two instances on one fresh database, with caches of one key prefix, fenced. */
async function pair(options: { ttlMs?: number; keyPrefix?: string } = {}): Promise<[Instance, Instance]> {
  const url = await servers.postgres!.createDatabase("svccache");
  const keyPrefix = options.keyPrefix ?? `t${Math.random().toString(36).slice(2, 8)}:`;
  const make = async (name: string): Promise<Instance> => {
    const store = await openStore(url);
    cleanup.push(() => store.close());
    const client = await redisClient(servers.redis!.url(), `test:${name}`);
    cleanup.push(() => closeRedisClient(client));
    const cache = new RedisServiceCache({ redis: client, source: store, keyPrefix, ttlMs: options.ttlMs ?? TTL_MS, logger: silent });
    expect(await cache.start()).toBe(true);
    return { store, client, cache };
  };
  return [await make("a"), await make("b")];
}

const update = (id: string, name: string) => ({ event: "updated" as const, record: draft(id, { name }) });

describe("the Redis service cache", () => {
  it("fills on a miss and answers later reads on every instance from Redis, with what the store holds", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const [a, b] = await pair();
    const written = await a.store.writeService(registered(draft("svc-1", { tags: ["gpu"] })));
    const direct = await a.store.getService("svc-1");
    expect(direct).toEqual(written.service);

    expect(await b.cache.getService("svc-1")).toEqual(direct);
    expect(b.cache.stats).toMatchObject({ misses: 1, fills: 1, hits: 0 });
    expect(await b.cache.getService("svc-1")).toEqual(direct);
    expect(await a.cache.getService("svc-1")).toEqual(direct);
    expect(a.cache.stats).toMatchObject({ hits: 1, misses: 0 });
    expect(b.cache.stats).toMatchObject({ hits: 1, misses: 1 });
    // Each read hands out a record of its own (the registry sets health on it in place).
    const one = await a.cache.getService("svc-1");
    one!.name = "changed by a caller";
    expect((await a.cache.getService("svc-1"))!.name).toBe("Service svc-1");
  });

  it("caches an absent id as absent, until a registration's invalidation", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const [a, b] = await pair();
    expect(await b.cache.getService("later")).toBeNull();
    expect(await b.cache.getService("later")).toBeNull();
    expect(b.cache.stats).toMatchObject({ misses: 1, hits: 1 });
    const written = await a.store.writeService(registered(draft("later")));
    a.cache.invalidate("later");
    await a.cache.settled();
    expect(await b.cache.getService("later")).toEqual(written.service);
  });

  it("keeps an entry at most ttlMs: it expires in Redis and the next read gets the store's record", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const [a, b] = await pair({ ttlMs: 300 });
    await a.store.writeService(registered(draft("short")));
    await b.cache.getService("short");
    const key = `${(b.cache as unknown as { options: { keyPrefix: string } }).options.keyPrefix}svc:v:short`;
    const pttl = await b.client.pttl(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300);
    // A change nobody invalidates (no tailer here): the entry's lifetime is what bounds it.
    await a.store.writeService(update("short", "second"));
    const seen = await until("the entry expired", async () => ((await b.cache.getService("short"))?.name === "second" ? true : undefined));
    expect(seen).toBe(true);
  });

  it("once any instance applied a change from its feed, no instance answers the older record; an instance never answers older than its own feed", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const [a, b] = await pair();
    const followedA = await tailedFeed(a.store);
    cleanup.push(() => followedA.tailer.stop());
    const followedB = await tailedFeed(b.store, { deaf: true, pollIntervalMs: 600_000 });
    cleanup.push(() => followedB.tailer.stop());
    const offA = a.cache.follow(followedA.feed);
    const offB = b.cache.follow(followedB.feed);
    cleanup.push(async () => (offA(), offB()));

    await a.store.writeService(registered(draft("fresh", { name: "v1" })));
    await followedA.tailer.waitFor(await a.store.currentRevision());
    await a.cache.settled();
    expect((await b.cache.getService("fresh"))!.name).toBe("v1");
    expect((await b.cache.getService("fresh"))!.name).toBe("v1");
    const hits = b.cache.stats.hits;
    expect(hits).toBeGreaterThan(0);

    // Applied by A's tailer (B's hears nothing): B's next read still gets v2.
    const v2 = await b.store.writeService(update("fresh", "v2"));
    await followedA.tailer.waitFor(v2.revision);
    await a.cache.settled();
    expect((await b.cache.getService("fresh"))!.name).toBe("v2");

    // Only B applies the next change (A's tailer stopped): right after its feed has it, its reads have it too,
    // even before its own DEL reached Redis.
    await followedA.tailer.stop();
    expect((await b.cache.getService("fresh"))!.name).toBe("v2");
    const v3 = await a.store.writeService(update("fresh", "v3"));
    followedB.tailer.kick();
    await followedB.tailer.waitFor(v3.revision);
    expect((await b.cache.getService("fresh"))!.name).toBe("v3");
    await b.cache.settled();
    expect((await a.cache.getService("fresh"))!.name).toBe("v3");
  });

  it("an invalidation holds for this instance's very next read, even one sent before the DEL reached Redis", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const [a, b] = await pair();
    await a.store.writeService(registered(draft("next", { name: "v1" })));
    await b.cache.getService("next");
    expect((await b.cache.getService("next"))!.name).toBe("v1");
    await a.store.writeService(update("next", "v2"));
    // What B's tailer does when it publishes the change, and a read in the same tick (the DEL leaves on a later one).
    b.cache.invalidate("next");
    const next = b.cache.getService("next");
    expect((await next)!.name).toBe("v2");
  });

  it("a read that began before a change never stores its older record after the change's invalidation", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const [a, b] = await pair();
    await a.store.writeService(registered(draft("race", { name: "old" })));
    // B's read of PostgreSQL happens, then stalls before the answer reaches the cache (a slow instance).
    let readDone!: () => void;
    const read = new Promise<void>((resolve) => (readDone = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: Pick<ServiceRecordStore, "getService"> = {
      async getService(id) {
        const record = await b.store.getService(id);
        readDone();
        await gate;
        return record;
      },
    };
    const keyPrefix = (a.cache as unknown as { options: { keyPrefix: string } }).options.keyPrefix;
    const slowCache = new RedisServiceCache({ redis: b.client, source: slow, keyPrefix, ttlMs: TTL_MS, logger: silent });
    await slowCache.start();
    const pending = slowCache.getService("race");
    await read;
    await a.store.writeService(update("race", "new"));
    a.cache.invalidate("race");
    await a.cache.settled();
    release();
    // The slow read answers what it read (it was concurrent with the change)...
    expect((await pending)!.name).toBe("old");
    expect(slowCache.stats).toMatchObject({ misses: 1, fills: 0 });
    // ...but cached nothing: every later read, on any instance, has the new record.
    expect((await b.cache.getService("race"))!.name).toBe("new");
    expect((await slowCache.getService("race"))!.name).toBe("new");
    expect((await a.cache.getService("race"))!.name).toBe("new");
  });

  it("an invalidation lost while this instance was cut off from Redis makes it fence a new generation before it trusts any entry", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const [a, b] = await pair();
    await a.store.writeService(registered(draft("cut", { name: "old" })));
    expect((await b.cache.getService("cut"))!.name).toBe("old");
    expect((await a.cache.getService("cut"))!.name).toBe("old");

    // A alone loses Redis, commits a change, and cannot invalidate it.
    a.client.disconnect();
    await a.store.writeService(update("cut", "new"));
    a.cache.invalidate("cut");
    await a.cache.settled();
    // Meanwhile A reads from PostgreSQL, never failing.
    expect((await a.cache.getService("cut"))!.name).toBe("new");

    await a.client.connect();
    // Back: the old entry is still in Redis (nobody deleted it), yet A never answers it...
    expect((await a.cache.getService("cut"))!.name).toBe("new");
    // ...and the new generation retired it for B too.
    expect((await b.cache.getService("cut"))!.name).toBe("new");
  });

  it("a jump in the followed feed (its tailer skipped a compacted stretch of the log) retires every entry", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const [a, b] = await pair();
    await a.store.writeService(registered(draft("kept")));
    await b.cache.getService("kept");
    await b.cache.getService("kept");
    expect(b.cache.stats).toMatchObject({ misses: 1, hits: 1 });
    const feed = new ChangeFeed(0, 100, silent);
    const off = b.cache.follow(feed);
    cleanup.push(async () => off());
    // Changes 1..50 were never seen here: "kept" may have been among them.
    feed.jumpTo(50);
    feed.publish({ event: { event: "updated", revision: 51, service: { ...draft("other"), revision: 51 } }, previous: null });
    await b.cache.settled();
    await b.cache.getService("kept");
    expect(b.cache.stats).toMatchObject({ misses: 2, hits: 1 });
  });

  it("with Redis down, every read goes to PostgreSQL and none fails; once it is back the cache is used again", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const [a, b] = await pair();
    await a.store.writeService(registered(draft("outage", { name: "v1" })));
    expect((await b.cache.getService("outage"))!.name).toBe("v1");
    await servers.redis.kill();
    try {
      await a.store.writeService(update("outage", "v2"));
      a.cache.invalidate("outage");
      await a.cache.settled();
      const reads = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).cache.getService("outage")));
      expect(reads.map((record) => record?.name)).toEqual(Array(20).fill("v2"));
      expect(await b.cache.getService("nothing-here")).toBeNull();
      expect(b.cache.stats.bypassed).toBeGreaterThanOrEqual(10);
    } finally {
      await servers.redis.start();
    }
    await until("clients back", () => a.client.status === "ready" && b.client.status === "ready");
    await b.cache.getService("outage");
    const before = b.cache.stats.hits;
    expect((await b.cache.getService("outage"))!.name).toBe("v2");
    expect(b.cache.stats.hits).toBe(before + 1);
  });

  it("as a decorator, answers getService from the cache and leaves every other method to the store", async (context) => {
    if (!servers.redis || !servers.postgres) return context.skip();
    const [a] = await pair();
    const written = await a.store.writeService(registered(draft("wrapped")));
    const wrapped = withServiceCache(a.store, a.cache);
    expect(await wrapped.getService("wrapped")).toEqual(written.service);
    expect(await wrapped.getService("wrapped")).toEqual(written.service);
    expect(a.cache.stats).toMatchObject({ misses: 1, hits: 1 });
    expect(await wrapped.currentRevision()).toBe(written.revision);
    const page = await wrapped.listServices({ filter: {}, viewer: { owner: "root", admin: true }, limit: 10 });
    expect(page.services.map((record: ServiceRecord) => record.id)).toEqual(["wrapped"]);
    expect(wrapped.description).toBe(a.store.description);
  });
});
