/**
 * @module cluster/redis/redis-extras
 * What a configured Redis adds to a cluster besides shared counters, wired in one place (docs/architecture/redis.md):
 * - wake-ups: an instance that committed a registry change or published a signal tells the others at once over
 *   Redis pub/sub; they read the PostgreSQL log sooner than their NOTIFY or poll would make them. Only a wake-up:
 *   the log stays the truth, and a lost wake costs latency, nothing else;
 * - the short-TTL service cache, in front of the reads that may lag a little (KLP discovery and verification,
 *   the recipient check of KLP messages): never in front of the registry's own reads, which must see every
 *   acknowledged write at once.
 * Without Redis (or in one process) nothing here exists and every read goes to the store.
 */
import type { Redis } from "ioredis";
import type { Config } from "../../config/config-schema.js";
import type { Logger } from "../../logging/logger.js";
import type { ChangeFeed } from "../../registry/change-feed.js";
import type { ServiceRecordStore } from "../../storage/contracts/node-store.js";
import type { ChangeTailer } from "../change-tailer.js";
import type { Cluster } from "../cluster-types.js";
import { RedisFanout, wakeOnOwnSignals } from "./redis-fanout.js";
import { RedisServiceCache } from "./redis-service-cache.js";

export interface RedisExtras {
  /** Tells the other instances a registry change was committed (call right after the commit). */
  wakeOthers(): void;
  /** The cache of single records for reads that may lag (null: read the store). */
  serviceCache: Pick<ServiceRecordStore, "getService"> | null;
  close(): Promise<void>;
}

const NONE: RedisExtras = { wakeOthers: () => undefined, serviceCache: null, close: async () => undefined };

export async function openRedisExtras(options: {
  redis: Redis | undefined;
  tailer: ChangeTailer | null;
  /** The cluster's signal reader, woken when another instance published a signal. */
  signalReader: { wake(): void } | null;
  cluster: Cluster;
  feed: ChangeFeed;
  store: Pick<ServiceRecordStore, "getService">;
  config: Config;
  logger: Logger;
}): Promise<RedisExtras> {
  const { redis, tailer, signalReader, cluster, feed, store, config, logger } = options;
  if (!redis || !tailer) return NONE;
  const keyPrefix = config.cache.redis.keyPrefix;
  const fanout = new RedisFanout({ redis, keyPrefix, instanceId: cluster.instanceId, logger });
  fanout.onWake("changes", () => tailer.kick());
  if (signalReader) fanout.onWake("signals", () => signalReader.wake());
  const offSignals = wakeOnOwnSignals(cluster.signals, fanout);
  const cache = new RedisServiceCache({ redis, source: store, keyPrefix, ttlMs: config.cache.redis.serviceTtlMs, logger });
  // Follow the feed before starting: the start fences out entries older than this instance.
  const stopFollowing = cache.follow(feed);
  await cache.start();
  return {
    wakeOthers: () => fanout.publishWake("changes"),
    serviceCache: cache,
    async close() {
      stopFollowing();
      offSignals();
      await fanout.close();
    },
  };
}
