/**
 * @module bus/wire-bus
 * What every bus that carries events over a wire (Redis pub/sub, NATS) does the same way: events travel as JSON text;
 * what arrives is parsed with the protocol's schema and handed to this process's listeners (a listener that throws
 * cannot stop the others; text that is not an event of ours is skipped, never passed on half-read); a failed send
 * never throws into the publisher and is logged once per outage. A backend supplies only `send` and `close`, and
 * feeds what its subscription receives to `receive`.
 */
import { BusEventSchema, parseJson, type BusEvent } from "@kai/protocol";
import type { BusListener, EventBus } from "./event-bus.js";

export interface WireLogger {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface Wire {
  kind: EventBus["kind"];
  send(text: string): Promise<void> | void;
  /** Closes the backend's connections (called once). */
  close(): Promise<void>;
  /** Logged (once per outage) when a send fails. */
  outage: string;
  logger?: WireLogger | undefined;
}

export function wireBus(wire: Wire): { bus: EventBus; receive(text: string): void } {
  const listeners = new Set<BusListener>();
  let closed = false;
  let failing = false;
  const receive = (text: string) => {
    if (closed) return;
    const json = parseJson(text);
    const parsed = json.ok ? BusEventSchema.safeParse(json.value) : null;
    if (!parsed?.success) return;
    for (const listener of [...listeners]) {
      try {
        listener(parsed.data);
      } catch (error) {
        wire.logger?.error({ err: error }, "a bus listener failed");
      }
    }
  };
  const bus: EventBus = {
    kind: wire.kind,
    async publish(event: BusEvent) {
      if (closed) return;
      try {
        await wire.send(JSON.stringify(event));
        failing = false;
      } catch (error) {
        if (failing) return;
        failing = true;
        // Name and message only: a client library's error object may carry the connection's options.
        wire.logger?.warn({ err: { name: (error as Error).name, message: (error as Error).message } }, wire.outage);
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
      await wire.close();
    },
  };
  return { bus, receive };
}
