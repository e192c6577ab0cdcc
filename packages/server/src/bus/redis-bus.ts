/**
 * @module bus/redis-bus
 * The bus over Redis pub/sub (`bus.kind: redis`, the server at `cache.redis.url`): every instance publishes each
 * event as JSON on one channel (`<keyPrefix>bus`) and receives every instance's events, its own included, from a
 * connection of its own (a Redis connection in subscriber mode accepts nothing but subscriptions).
 *
 * Pub/sub is at most once: an event published while Redis is down, or while a subscriber reconnects, is lost on the
 * wire. That is acceptable because the bus is a carrier, not a store: task events are in the TaskEventLog before
 * they are published, and a subscriber that notices a gap in a task's sequence numbers reads it back from there
 * (bus/event-hub.ts). Publishing never throws into the publisher: a failure is logged once per outage.
 */
import type { Redis } from "ioredis";
import { closeRedisClient, createRedisClient, waitForRedis, type RedisClientLogger } from "../cluster/redis/redis-client.js";
import type { EventBus } from "./event-bus.js";
import { wireBus } from "./wire-bus.js";

export interface RedisBusOptions {
  url: string;
  /** `cache.redis.keyPrefix`: nodes sharing one Redis keep their buses apart. */
  keyPrefix: string;
  /** Shown by `CLIENT LIST` (no secret in it). */
  instanceName?: string;
  logger?: RedisClientLogger & { error(fields: Record<string, unknown>, message: string): void };
  /** How long `openRedisBus` waits for Redis at start, ms (it keeps trying in the background afterwards). */
  connectTimeoutMs?: number;
}

export async function openRedisBus(options: RedisBusOptions): Promise<EventBus> {
  const channel = `${options.keyPrefix}bus`;
  const name = options.instanceName ?? String(process.pid);
  // A longer command timeout than the cache's 1 s: a publish that times out is an event lost on the wire (pub/sub
  // is at most once), and a busy Redis or host is no reason to lose it; the publisher never waits on it anyway.
  const publisher: Redis = createRedisClient({ url: options.url, connectionName: `kai:bus:${name}`, commandTimeoutMs: 10_000, ...(options.logger ? { logger: options.logger } : {}) });
  // ioredis subscribes again by itself after a reconnect (the SUBSCRIBE below got through before open resolved).
  const subscriber: Redis = publisher.duplicate({ connectionName: `kai:bus-sub:${name}` });
  subscriber.on("error", () => undefined); // the publisher's client reports the outage, once
  const { bus, receive } = wireBus({
    kind: "redis",
    send: async (text) => {
      await publisher.publish(channel, text);
    },
    close: async () => {
      await closeRedisClient(subscriber);
      await closeRedisClient(publisher);
    },
    outage: "bus events are not reaching Redis: subscribers catch up on task events from the store",
    logger: options.logger,
  });
  // Something else writing to our channel (or a newer node's shape we cannot read) is skipped by `receive`.
  subscriber.on("message", (from: string, text: string) => {
    if (from === channel) receive(text);
  });

  try {
    const wait = options.connectTimeoutMs ?? 5_000;
    // Both connections up before SUBSCRIBE: with the offline queue off, a command on a connection still opening fails.
    if (!(await waitForRedis(publisher, wait)) || !(await waitForRedis(subscriber, wait))) throw new Error("Redis did not answer (bus.kind redis, cache.redis.url)");
    await subscriber.subscribe(channel);
  } catch (error) {
    await closeRedisClient(subscriber);
    await closeRedisClient(publisher);
    throw error;
  }
  return bus;
}
