/**
 * @module cluster/open-rate-limits
 * Opens the rate limits the node's instances share, from the configuration: in one process they count in
 * memory; on PostgreSQL they count there (one atomic statement per hit, on the database clock); with
 * `cache.redis.url` they count in Redis, and in PostgreSQL while Redis is unreachable, never "no limits"
 * (cluster/limits, docs/architecture/limits.md). Limits that may fall back to a share of the limit while even
 * the database is away divide it by the live instances, refreshed here.
 */
import type { Redis } from "ioredis";
import type { RedisState } from "@kai/protocol";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import type { StorageBackend } from "../storage/contracts/storage-backend.js";
import type { Cluster } from "./cluster-types.js";
import { createRateLimits, memoryRateLimits } from "./limits/rate-limits.js";
import type { RateLimits } from "./limits/limit-types.js";
import { closeRedisClient, createRedisClient, isRedisReady, waitForRedis } from "./redis/redis-client.js";
import { isShared } from "./open-cluster.js";

/** How often the number of live instances is read again, ms. */
const MEMBERS_REFRESH_MS = 5_000;
/** How long start waits for Redis before going on (PostgreSQL counts meanwhile), ms. */
const REDIS_START_WAIT_MS = 2_000;

export interface OpenedRateLimits {
  limits: RateLimits;
  /** The node's Redis client when `cache.redis.url` is set (wake-ups and the service cache use it too); closed by `close()`. */
  redis: Redis | undefined;
  /** The optional Redis: `off` when not configured. */
  redisState(): RedisState;
  close(): Promise<void>;
}

export async function openRateLimits(options: { config: Config; store: StorageBackend; cluster: Cluster; logger: Logger }): Promise<OpenedRateLimits> {
  const { config, store, cluster, logger } = options;
  if (!isShared(store)) {
    const limits = memoryRateLimits();
    return { limits, redis: undefined, redisState: () => "off", close: () => limits.close() };
  }
  let live = 1;
  const refresh = () =>
    cluster
      .members()
      .then((members) => void (live = Math.max(1, members.length)))
      .catch(() => undefined);
  // Read at once, not only after the first interval: until then a counter that fell back to this instance's share
  // would have judged it alone, admitting the whole limit on every instance.
  await refresh();
  const timer = setInterval(refresh, MEMBERS_REFRESH_MS);
  timer.unref();
  const instances = () => live;

  let redis: Redis | undefined;
  let limits: RateLimits;
  const url = config.cache.redis.url;
  if (url) {
    redis = createRedisClient({ url, connectionName: `kai:${cluster.instanceId}`, logger });
    if (!(await waitForRedis(redis, REDIS_START_WAIT_MS))) logger.warn("Redis is not reachable yet: rate limits count in PostgreSQL until it is");
    limits = createRateLimits({ mode: "redis", redis, pool: store.pool, keyPrefix: config.cache.redis.keyPrefix }, { logger, instances });
  } else {
    limits = createRateLimits({ mode: "postgres", pool: store.pool }, { logger, instances });
  }
  await limits.start();
  return {
    limits,
    redis,
    redisState: () => (!redis ? "off" : isRedisReady(redis) ? "up" : "down"),
    async close() {
      clearInterval(timer);
      await limits.close();
      if (redis) await closeRedisClient(redis);
    },
  };
}
