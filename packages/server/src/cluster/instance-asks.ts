/**
 * @module cluster/instance-asks
 * Asking the other live instances of a node through the cluster's signals, and gathering their answers: the one
 * mechanism of the log relay (logging/cluster-log-relay.ts: recent lines, file searches, follows) and of `kai doctor`'s
 * relay (doctor/cluster-doctor-relay.ts). An ask has an id; every instance hears every answer on the answer topic, and
 * only the asker parses one (with the answer's schema) and hands it to whoever listens for that ask, with the id of the
 * instance that sent it. `gather` asks a set of instances and waits until each has sent its answer marked `done`, or
 * until its wait is over, and says which did not.
 */
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { waitAtMost } from "../wait-at-most.js";
import type { ClusterMember, ClusterSignals, SignalTopic } from "./cluster-types.js";

/** What every answer carries: the ask it answers, and `done` on an instance's last answer to it. */
export interface AskAnswer {
  ask: string;
  done?: true | undefined;
}

/** An instance as an ask names it. */
export type AskedInstance = Pick<ClusterMember, "instanceId" | "name">;

export class InstanceAsks<A extends AskAnswer> {
  /** Who listens for the answers to each ask, by ask id. */
  private readonly listeners = new Map<string, (answer: A, origin: string) => void>();
  private readonly off: () => void;

  constructor(signals: Pick<ClusterSignals, "subscribe">, answerTopic: SignalTopic, schema: z.ZodType<A>) {
    this.off = signals.subscribe(answerTopic, (payload, meta) => {
      const listener = typeof payload["ask"] === "string" ? this.listeners.get(payload["ask"]) : undefined;
      if (meta.fromSelf || !listener) return;
      const parsed = schema.safeParse(payload);
      if (parsed.success) listener(parsed.data, meta.origin);
    });
  }

  /** Hears the answers to `ask` (each with the id of the instance that sent it) until the returned function is called. */
  listen(ask: string, listener: (answer: A, origin: string) => void): () => void {
    this.listeners.set(ask, listener);
    return () => void this.listeners.delete(ask);
  }

  /**
   * A new ask of `instances`: `publish` sends it under the id it is given; each answer from an instance asked goes to
   * `heard`, until every one of them sent its `done` answer or `waitMs` passed. Resolves to the names of those that did
   * not finish. A `publish` that throws is thrown on, after the ask is forgotten.
   */
  async gather(instances: readonly AskedInstance[], publish: (ask: string) => Promise<void>, waitMs: number, heard: (answer: A, origin: string) => void): Promise<string[]> {
    if (instances.length === 0) return [];
    const ask = randomUUID();
    const pending = new Map(instances.map((instance) => [instance.instanceId, instance.name]));
    let answeredAll: () => void = () => undefined;
    const allAnswered = new Promise<void>((resolve) => (answeredAll = resolve));
    const stop = this.listen(ask, (answer, origin) => {
      // Only the instances asked (an instance too old to read whom an ask is for answers every ask).
      if (!pending.has(origin)) return;
      heard(answer, origin);
      if (!answer.done) return;
      pending.delete(origin);
      if (pending.size === 0) answeredAll();
    });
    try {
      await publish(ask);
      await waitAtMost(allAnswered, waitMs);
    } finally {
      stop();
    }
    return [...pending.values()];
  }

  close(): void {
    this.off();
    this.listeners.clear();
  }
}
