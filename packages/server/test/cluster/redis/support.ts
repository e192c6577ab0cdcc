/**
 * Helpers of the Redis wake and cache tests: "instances" as far as those parts go, each with its own PostgreSQL
 * store (small pool) and its own Redis client, on one database and one Redis server; each instance's change feed
 * written by a real change tailer, as in a cluster; and a wait that polls (no timing assertions).
 */
import pino from "pino";
import type { Redis } from "ioredis";
import { ChangeFeed } from "../../../src/registry/change-feed.js";
import { ChangeTailer } from "../../../src/cluster/change-tailer.js";
import { PostgresStore } from "../../../src/storage/postgres/pg-store.js";
import type { SharedStorage } from "../../../src/storage/contracts/storage-backend.js";
import { closeRedisClient, createRedisClient, waitForRedis } from "../../../src/cluster/redis/redis-client.js";

export const silent = pino({ level: "silent" });

/** A client as the node makes it (fails fast while Redis is down, reconnects by itself), quick to reconnect here. */
export async function redisClient(url: string, name: string): Promise<Redis> {
  const client = createRedisClient({ url, connectionName: name, maxReconnectDelayMs: 200 });
  if (!(await waitForRedis(client, 5_000))) throw new Error("the test Redis did not accept the connection");
  return client;
}

export { closeRedisClient };

export async function openStore(url: string): Promise<PostgresStore> {
  return PostgresStore.open({ kind: "postgres", url, poolSize: 3 });
}

/**
 * A feed followed by a real tailer over `storage`. `pollIntervalMs` long and `deaf` (LISTEN that never hears
 * anything, as behind a pooler in transaction mode) leave only explicit kicks to wake it.
 */
export async function tailedFeed(store: PostgresStore, options: { pollIntervalMs?: number; deaf?: boolean } = {}): Promise<{ feed: ChangeFeed; tailer: ChangeTailer }> {
  const feed = new ChangeFeed(await store.currentRevision(), 1000, silent);
  const storage: SharedStorage & Pick<PostgresStore, "currentRevision"> = options.deaf
    ? {
        shared: true,
        changesSince: (after, limit) => store.changesSince(after, limit),
        currentRevision: () => store.currentRevision(),
        ping: () => store.ping(),
        listen: () => Promise.resolve(() => Promise.resolve()),
      }
    : store;
  const tailer = new ChangeTailer({ storage, feed, logger: silent, pollIntervalMs: options.pollIntervalMs ?? 200 });
  await tailer.start();
  return { feed, tailer };
}

/** Polls `check` until it returns something other than undefined/false; fails after `timeoutMs`. */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
