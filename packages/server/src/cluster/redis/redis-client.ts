/**
 * @module cluster/redis/redis-client
 * Opens the optional Redis connection (`cache.redis.url`) the way every user of it needs it: a command fails at
 * once while Redis is unreachable instead of waiting in a queue (so a caller can fall back to PostgreSQL within
 * the same request), a command that hangs fails after `commandTimeoutMs`, and the client keeps reconnecting in
 * the background forever, so Redis is used again as soon as it is back. Connection trouble is logged once per
 * outage, not once per reconnect attempt, and never with the URL (it may carry a password).
 *
 * Users apply `cache.redis.keyPrefix` to their keys themselves (the client sets none), because a key prefix
 * set on the client does not apply to pub/sub channels.
 */
import { createRequire } from "node:module";
import type * as IoRedis from "ioredis";
import type { Redis } from "ioredis";

/**
 * ioredis (CommonJS, ~230 ms of module loading) is required on the first client, not with the node: only nodes
 * with `cache.redis.url` or a Redis bus use it. `require` keeps `createRedisClient` synchronous.
 */
let RedisClass: typeof Redis | undefined;
const redisClass = (): typeof Redis => (RedisClass ??= (createRequire(import.meta.url)("ioredis") as typeof IoRedis).Redis);

export interface RedisClientLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface RedisClientOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://` for TLS. */
  url: string;
  /** Shown by `CLIENT LIST` on the server, e.g. `kai:limits:<instance>`. */
  connectionName?: string;
  /** A command without an answer by then fails (and its caller falls back), ms. Default 1000. */
  commandTimeoutMs?: number;
  /** Longest pause between reconnect attempts, ms. Default 2000. */
  maxReconnectDelayMs?: number;
  logger?: RedisClientLogger;
}

/** The client is connected and accepts commands. */
export function isRedisReady(client: Redis): boolean {
  return client.status === "ready";
}

/**
 * Creates the client and starts connecting. Does not wait: use `waitForRedis` at start when the first
 * requests should already use Redis (a node whose Redis is down still starts, on PostgreSQL).
 */
export function createRedisClient(options: RedisClientOptions): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 2000;
  const client = new (redisClass())(options.url, {
    // Fail fast while disconnected: the caller's fallback (PostgreSQL) answers instead of a queue that waits.
    enableOfflineQueue: false,
    // One attempt per command: a reconnect in progress must not hold a request for seconds.
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    connectTimeout: 2000,
    // Reconnect forever, backing off up to maxDelay: Redis is used again as soon as it answers.
    retryStrategy: (attempt: number) => Math.min(attempt * 100, maxDelay),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
  });
  let down = false;
  // Without an 'error' listener ioredis prints every failed reconnect; with it, the outage is logged once.
  client.on("error", (error: Error) => {
    if (down) return;
    down = true;
    options.logger?.warn({ err: { name: error.name, message: error.message } }, "Redis is unreachable: shared counters fall back to PostgreSQL until it is back");
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    options.logger?.info({}, "Redis is reachable again");
  });
  return client;
}

/** Resolves true once the client is ready, false after `timeoutMs` (it keeps trying in the background). */
export async function waitForRedis(client: Redis, timeoutMs: number): Promise<boolean> {
  if (isRedisReady(client)) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    client.on("ready", onReady);
  });
}

/** Closes the connection (QUIT when connected, otherwise at once) and stops reconnecting. */
export async function closeRedisClient(client: Redis): Promise<void> {
  if (client.status === "end") return;
  try {
    if (isRedisReady(client)) await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}
