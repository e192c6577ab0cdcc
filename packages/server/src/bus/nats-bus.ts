/**
 * @module bus/nats-bus
 * The bus over NATS (`bus.kind: nats`, `bus.nats.url`): every instance publishes each event as
 * JSON on one subject (`bus.nats.subject`, default `kai.bus`) and subscribes to it, so it receives every instance's
 * events, its own included. The client reconnects forever by itself and keeps its subscription.
 *
 * Core NATS is at most once, like Redis pub/sub: an event sent while the server is unreachable may be lost on the
 * wire. Task events are in the TaskEventLog before they are published, and a subscriber that notices a gap in a
 * task's sequence numbers reads it back from there (bus/event-hub.ts). Publishing never throws into the publisher.
 */
import { connect, type NatsConnection, type Subscription } from "nats";
import type { EventBus } from "./event-bus.js";
import { wireBus } from "./wire-bus.js";

export interface NatsBusOptions {
  /** `nats://host:4222` (credentials in the URL are passed to the server, never logged). */
  url: string;
  subject: string;
  instanceName?: string;
  logger?: {
    warn(fields: Record<string, unknown>, message: string): void;
    error(fields: Record<string, unknown>, message: string): void;
  };
  /** How long the first connection may take, ms. */
  connectTimeoutMs?: number;
}

export async function openNatsBus(options: NatsBusOptions): Promise<EventBus> {
  const connection: NatsConnection = await connect({
    servers: options.url,
    name: `kai:bus:${options.instanceName ?? process.pid}`,
    timeout: options.connectTimeoutMs ?? 5_000,
    // Reconnect forever: the bus comes back by itself when the server does.
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  const { bus, receive } = wireBus({
    kind: "nats",
    send: (text) => connection.publish(options.subject, text),
    close: async () => {
      subscription.unsubscribe();
      // drain() sends what is buffered first; a connection already gone just closes.
      await connection.drain().catch(() => connection.close());
    },
    outage: "bus events are not reaching NATS: subscribers catch up on task events from the store",
    logger: options.logger,
  });
  // Read by `close` above, which can only run once `openNatsBus` has returned the bus.
  const subscription: Subscription = connection.subscribe(options.subject, {
    callback: (error, message) => {
      if (!error) receive(message.string());
    },
  });
  // The server knows the subscription once this round trip is done: events another instance publishes from now on arrive.
  await connection.flush();
  return bus;
}
