/**
 * Two whole servers on one real PostgreSQL with a real Redis configured: Redis counts their shared limits and
 * wakes them (the cache field of `GET /api/cluster` says `up`); when Redis dies they go on serving, limits still
 * hold (PostgreSQL counts instead: never "no limits"), changes still travel between them, and the cluster view
 * says `down`; when it is back, `up` again.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ClusterResponse } from "@kai/protocol";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { mintToken, type TestServer } from "../helpers/test-server.js";
import { waitFor } from "./support.js";
import { startInstances, type Instances } from "./support/instances.js";

const pg: PostgresServer | null = await startPostgres();
const redis: RedisServer | null = pg ? await startRedis() : null;

const cacheState = async (server: TestServer) => ((await (await server.request("/api/cluster")).json()) as ClusterResponse).cache.redis;

describe.skipIf(!pg || !redis)("two instances with Redis", () => {
  let a: TestServer;
  let b: TestServer;
  let instances: Instances | undefined;

  beforeAll(async () => {
    instances = await startInstances(pg!, {
      database: "redis",
      cluster: { pollIntervalMs: 60_000 },
      config: { cache: { redis: { url: redis!.url() } }, rateLimit: { read: { max: 8, windowSeconds: 60 } } },
    });
    [a, b] = instances.servers as [TestServer, TestServer];
  }, 60_000);

  afterAll(async () => {
    await instances?.dispose();
    await redis?.stop();
    await pg?.stop();
  });

  test("count limits in Redis, keep them through a Redis outage, and keep following each other", async () => {
    expect(await cacheState(a)).toBe("up");
    const token = await mintToken(a, ["services:read"]);
    const first = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).request("/api/services", { token }).then((r) => r.status)));
    expect(first.filter((s) => s === 200)).toHaveLength(6);

    await redis!.kill();
    try {
      await waitFor("Redis down on B", async () => (await cacheState(b)) === "down", 15_000);
      // Redis is gone: PostgreSQL counts now, in a window of its own (what Redis had counted is not carried over, so
      // a switch can allow up to one more bucket: docs/architecture/limits.md), but never more than a bucket of 8.
      const during = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).request("/api/services", { token }).then((r) => r.status)));
      expect(during.filter((s) => s === 200).length).toBeLessThanOrEqual(8);
      expect(during.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
      // Changes still travel (NOTIFY; the poll is a minute here, so not by polling).
      expect((await a.request("/api/services/register", { method: "POST", json: { id: "during-redis-outage", name: "R", type: "service" } })).status).toBe(201);
      expect((await b.request("/api/services/during-redis-outage")).status).toBe(200);
    } finally {
      await redis!.start();
    }
    await waitFor("Redis up on both", async () => (await cacheState(a)) === "up" && (await cacheState(b)) === "up", 15_000);
  });
});
