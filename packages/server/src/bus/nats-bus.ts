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
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { BusEventSchema, parseJson, type BusEvent } from "@kai/protocol";
import type { BusListener, EventBus } from "./event-bus.js";

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
  const listeners = new Set<BusListener>();
  let closed = false;
  let failing = false;

  const subscription: Subscription = connection.subscribe(options.subject, {
    callback: (error, message) => {
      if (error || closed) return;
      const json = parseJson(message.string());
      const parsed = json.ok ? BusEventSchema.safeParse(json.value) : null;
      if (!parsed?.success) return; // not ours, or a shape this node cannot read: skipped, never passed on half-read
      for (const listener of [...listeners]) {
        try {
          listener(parsed.data);
        } catch (listenerError) {
          options.logger?.error({ err: listenerError }, "a bus listener failed");
        }
      }
    },
  });
  // The server knows the subscription once this round trip is done: events another instance publishes from now on arrive.
  await connection.flush();

  return {
    kind: "nats",
    async publish(event: BusEvent) {
      if (closed) return;
      try {
        connection.publish(options.subject, JSON.stringify(event));
        failing = false;
      } catch (error) {
        if (failing) return;
        failing = true;
        options.logger?.warn({ err: { name: (error as Error).name, message: (error as Error).message } }, "bus events are not reaching NATS: subscribers catch up on task events from the store");
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      subscription.unsubscribe();
      // drain() sends what is buffered first; a connection already gone just closes.
      await connection.drain().catch(() => connection.close());
    },
  };
}
