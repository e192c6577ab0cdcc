/**
 * Two whole servers on one real PostgreSQL with a real Redis configured: Redis counts their shared limits and
 * wakes them (the cache field of `GET /api/cluster` says `up`); when Redis dies they go on serving, limits still
 * hold (PostgreSQL counts instead: never "no limits"), changes still travel between them, and the cluster view
 * says `down`; when it is back, `up` again.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterResponse } from "@kai/protocol";
import { startPostgres, type PostgresServer } from "../helpers/postgres-server.js";
import { startRedis, type RedisServer } from "../helpers/redis-server.js";
import { mintToken, startTestServer, type TestServer } from "../helpers/test-server.js";

const pg: PostgresServer | null = await startPostgres();
const redis: RedisServer | null = pg ? await startRedis() : null;

async function eventually(probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const cacheState = async (server: TestServer) => ((await (await server.request("/api/cluster")).json()) as ClusterResponse).cache.redis;

describe.skipIf(!pg || !redis)("two instances with Redis", () => {
  let a: TestServer;
  let b: TestServer;
  let keyDir: string;

  beforeAll(async () => {
    const url = await pg!.createDatabase("redis");
    keyDir = mkdtempSync(join(tmpdir(), "kai-keys-"));
    const config = (name: string) => ({
      storage: { kind: "postgres" as const, postgres: { url, poolSize: 4 } },
      cache: { redis: { url: redis!.url() } },
      vault: { keyDir, pbkdf2Iterations: 10_000 },
      cluster: { instanceName: name, pollIntervalMs: 60_000 },
      rateLimit: { read: { max: 8, windowSeconds: 60 } },
    });
    const env = { KAI_VAULT_PASSPHRASE: "redis passphrase" };
    a = await startTestServer({ config: config("a"), env });
    b = await startTestServer({ config: config("b"), env });
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([a?.dispose(), b?.dispose()]);
    rmSync(keyDir, { recursive: true, force: true });
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
      await eventually(async () => (await cacheState(b)) === "down");
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
    await eventually(async () => (await cacheState(a)) === "up" && (await cacheState(b)) === "up");
  });
});
