/**
 * @module bus/event-bus
 * The orchestration bus (issue 16): one stream of every event (registry changes, task events, system status,
 * notifications, config updates) in the shape of @kai/protocol's `BusEvent`. A backend carries events between the
 * node's instances: in-process by default (one instance), Redis pub/sub or NATS when configured. It is a carrier,
 * not a store: task events are stored with their sequence numbers before they are published (TaskEventLog), so a
 * subscriber that missed some (a reconnect, a dropped slow consumer, a Redis or NATS hiccup) replays them from
 * the store. Every backend passes the same contract suite (test/bus/event-bus-contract.ts).
 */
import type { BusEvent } from "@kai/protocol";

export type BusListener = (event: BusEvent) => void;

export interface EventBus {
  /** Which backend carries the events (shown in /api/status). */
  readonly kind: "memory" | "redis" | "nats";
  /** Sends `event` to every subscriber on every instance (this one included). Resolves once handed to the backend. */
  publish(event: BusEvent): Promise<void>;
  /** Every event published on any instance from now on, in the order the backend delivers; returns the unsubscribe. */
  subscribe(listener: BusListener): () => void;
  close(): Promise<void>;
}
