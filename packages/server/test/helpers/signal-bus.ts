/**
 * An in-process signal bus for tests of the parts that talk between instances through the cluster's signals (the log
 * relay, the doctor relay), at the edges the two-instance tests on PostgreSQL do not reach. It keeps the contract's
 * delivery rules (every instance, the publisher too, in publication order, after the publish resolved) and the real
 * payload limit (`encodeSignalPayload` throws over it, as on PostgreSQL). The real bus is tested by the cluster's own
 * contract suite; this one stands in for it only where many instances, silent ones or old ones are needed.
 */
import { encodeSignalPayload, type ClusterSignals, type SignalHandler, type SignalTopic } from "../../src/cluster/cluster-types.js";

export interface BusMember {
  instanceId: string;
  name: string;
}

export interface SignalBus {
  /** The signals as the instance `instanceId` publishes and hears them. */
  signalsFor(instanceId: string): Pick<ClusterSignals, "publish" | "subscribe">;
  /** How many signals were published so far. */
  published(): number;
}

/** `alter`: changes a payload on its way to one instance (an older instance's schema that strips new fields). */
export function signalBus(options: { alter?(payload: Record<string, unknown>, toInstanceId: string): void } = {}): SignalBus {
  const handlers: Array<{ instanceId: string; topic: SignalTopic; handler: SignalHandler }> = [];
  let published = 0;
  return {
    published: () => published,
    signalsFor: (instanceId) => ({
      async publish(topic, payload) {
        const json = encodeSignalPayload(topic, payload);
        published++;
        setImmediate(() => {
          for (const entry of [...handlers]) {
            if (entry.topic !== topic) continue;
            const delivered = JSON.parse(json) as Record<string, unknown>;
            options.alter?.(delivered, entry.instanceId);
            entry.handler(delivered, { origin: instanceId, fromSelf: entry.instanceId === instanceId });
          }
        });
      },
      subscribe(topic, handler) {
        const entry = { instanceId, topic, handler };
        handlers.push(entry);
        return () => void handlers.splice(handlers.indexOf(entry), 1);
      },
    }),
  };
}
