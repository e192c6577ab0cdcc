/**
 * @module bus/in-process-bus
 * The default bus: one instance, events handed to this process's subscribers. Delivery is asynchronous (a
 * microtask) so a publisher never runs subscriber code inside its own call stack, and a throwing listener
 * cannot stop the others.
 */
import type { BusEvent } from "@kai/protocol";
import type { BusListener, EventBus } from "./event-bus.js";

export function createInProcessBus(onListenerError: (error: unknown) => void = () => undefined): EventBus {
  const listeners = new Set<BusListener>();
  let closed = false;
  return {
    kind: "memory",
    async publish(event: BusEvent) {
      if (closed) return;
      await Promise.resolve();
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      closed = true;
      listeners.clear();
    },
  };
}
