/**
 * @module test/federation/signal-bus
 * An in-process stand-in for a cluster's signal bus behind federation's own coordination port
 * (federation/coordination.ts), so that two FederationService objects on one database act as two instances:
 * every signal reaches every subscriber later (never inside `publish`), in publication order, as its own copy,
 * with `fromSelf` true for the publisher, as the contract of `ClusterSignals` promises.
 */
import type { FederationChange, FederationCoordination } from "../../src/federation/coordination.js";

type Listener = (payload: Record<string, unknown>, fromSelf: boolean) => void;

export class SignalBus {
  /** Every signal published, in order. */
  readonly published: FederationChange[] = [];
  /** While true, signals are published but reach nobody (an instance cut off from the others). */
  dropping = false;
  private readonly subscribers = new Set<{ owner: object; listener: Listener }>();
  private readonly missed = new Set<() => void>();

  /** One instance's port. */
  port(): FederationCoordination {
    const owner = {};
    return {
      publish: async (change) => {
        this.published.push(change);
        if (this.dropping) return;
        setImmediate(() => {
          for (const subscriber of [...this.subscribers]) subscriber.listener(structuredClone({ ...change }), subscriber.owner === owner);
        });
      },
      subscribe: (listener) => {
        const subscriber = { owner, listener };
        this.subscribers.add(subscriber);
        return () => void this.subscribers.delete(subscriber);
      },
      onMissed: (listener) => {
        this.missed.add(listener);
        return () => void this.missed.delete(listener);
      },
    };
  }

  /** Tells every instance it may have missed signals (as a cluster does after a long cut-off). */
  tellMissed(): void {
    for (const listener of [...this.missed]) listener();
  }
}
