/**
 * Test support: N "instances" of a node as far as rate counters go, each with its own PostgreSQL pool and its
 * own Redis client (what N processes would have), all on the same database and the same Redis server.
 */
import pg from "pg";
import type { Redis } from "ioredis";
import { createRateLimits, type RateLimits } from "../../../src/cluster/limits/index.js";
import { closeRedisClient, createRedisClient, waitForRedis } from "../../../src/cluster/redis/redis-client.js";

export interface LimitsInstance {
  limits: RateLimits;
  pool: pg.Pool;
  redis?: Redis;
}

export interface InstanceGroup {
  instances: LimitsInstance[];
  close(): Promise<void>;
}

export async function startInstances(count: number, databaseUrl: string, redisUrl?: string, instances = () => count): Promise<InstanceGroup> {
  const group: LimitsInstance[] = [];
  for (let i = 0; i < count; i++) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 5 });
    // An idle connection the server drops (the server stopping at the end of the file) is not a test failure.
    pool.on("error", () => undefined);
    if (redisUrl) {
      const redis = createRedisClient({ url: redisUrl, connectionName: `test-${i}`, maxReconnectDelayMs: 200 });
      if (!(await waitForRedis(redis, 5000))) throw new Error("the test Redis did not accept the connection");
      group.push({ pool, redis, limits: createRateLimits({ mode: "redis", redis, pool }, { instances, sweepIntervalMs: 0 }) });
    } else {
      group.push({ pool, limits: createRateLimits({ mode: "postgres", pool }, { instances, sweepIntervalMs: 0 }) });
    }
  }
  // Every instance creates the table at start, at the same moment: the advisory lock keeps that safe.
  await Promise.all(group.map((instance) => instance.limits.start()));
  return {
    instances: group,
    async close() {
      for (const instance of group) {
        await instance.limits.close();
        if (instance.redis) await closeRedisClient(instance.redis);
        await instance.pool.end();
      }
    },
  };
}

/** `perInstance` concurrent hits on `key` from every instance at once; returns the totals they were told. */
export async function hitTogether(group: InstanceGroup, counterName: string, key: string, perInstance: number) {
  const hits = group.instances.flatMap((instance) => {
    const counter = instance.limits.counter(counterName, 60_000);
    return Array.from({ length: perInstance }, () => counter.add(key));
  });
  return Promise.all(hits);
}
