/**
 * @module bus/open-event-bus
 * Opens the bus the configuration names (`bus.kind`): in-process (default), Redis pub/sub on `cache.redis.url`,
 * or NATS at `bus.nats.url`. A configured Redis or NATS that does not answer at start fails the start with a clear
 * message: an instance that silently fell back to an in-process bus would miss every other instance's events.
 */
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import type { EventBus } from "./event-bus.js";
import { createInProcessBus } from "./in-process-bus.js";
// The Redis and NATS clients load only when configured (ioredis and nats are ~300 ms of module loading that a
// single node, and every test, would pay for at each start).

export async function openEventBus(config: Config, logger: Logger): Promise<EventBus> {
  const log = {
    info: (fields: Record<string, unknown>, message: string) => logger.info(fields, message),
    warn: (fields: Record<string, unknown>, message: string) => logger.warn(fields, message),
    error: (fields: Record<string, unknown>, message: string) => logger.error(fields, message),
  };
  const instanceName = config.cluster.instanceName;
  switch (config.bus.kind) {
    case "memory":
      return createInProcessBus((error) => logger.error({ err: error }, "a bus listener failed"));
    case "redis": {
      const url = config.cache.redis.url;
      if (!url) throw new Error("bus.kind redis needs cache.redis.url (or KAI_REDIS_URL)");
      try {
        const { openRedisBus } = await import("./redis-bus.js");
        return await openRedisBus({ url, keyPrefix: config.cache.redis.keyPrefix, logger: log, ...(instanceName ? { instanceName } : {}) });
      } catch (error) {
        // The URL may carry a password: the message names the setting, never its value.
        throw new Error(`the bus could not reach Redis (cache.redis.url): ${(error as Error).message}`, { cause: error });
      }
    }
    case "nats": {
      const url = config.bus.nats.url;
      if (!url) throw new Error("bus.kind nats needs bus.nats.url");
      try {
        const { openNatsBus } = await import("./nats-bus.js");
        return await openNatsBus({ url, subject: config.bus.nats.subject, logger: log, ...(instanceName ? { instanceName } : {}) });
      } catch (error) {
        throw new Error(`the bus could not reach NATS (bus.nats.url): ${(error as Error).message}`, { cause: error });
      }
    }
  }
}
