/**
 * @module memory/memory-signals
 * Keeps every instance's memory index in step with the others' (issue 13 for issue 17): each memory an instance adds
 * or removes goes out as a `memory_changed` cluster signal carrying ids only (the rows are in the shared database),
 * and each instance indexes or drops what the others did. Signals are handled one after another, in publication
 * order, so an add and the removal that follows it never overtake each other. When this instance missed signals (cut
 * off longer than they are kept), it reconciles its index with the rows. In one process there is nobody to tell.
 * Wired beside cluster/share-signals.ts rather than in it: memory opens after the signals are shared.
 */
import type { Cluster } from "../cluster/cluster-types.js";
import type { Logger } from "../logging/logger.js";
import type { MemoryService } from "./memory-service.js";

/** Ids per signal: ~35 bytes each in JSON keeps a signal well under its 4 KiB bound. */
const IDS_PER_SIGNAL = 100;

function idsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === "string") : [];
}

export function shareMemoryChanges(deps: { cluster: Cluster; shared: boolean; memory: MemoryService; logger: Logger }): { stop(): void } {
  const { cluster, shared, memory, logger } = deps;
  if (!shared) return { stop: () => undefined };
  let queue: Promise<void> = Promise.resolve();
  const inOrder = (work: () => Promise<unknown>, what: string) => {
    queue = queue.then(work).then(
      () => undefined,
      (error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, what),
    );
  };
  const offs = [
    memory.onChange((change) => {
      for (const [kind, ids] of [["added", change.added ?? []], ["removed", change.removed ?? []]] as const) {
        for (let start = 0; start < ids.length; start += IDS_PER_SIGNAL) {
          cluster.signals
            .publish("memory_changed", { [kind]: ids.slice(start, start + IDS_PER_SIGNAL) })
            .catch((error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, "a memory change could not be told to the other instances"));
        }
      }
    }),
    cluster.signals.subscribe("memory_changed", (payload, meta) => {
      if (meta.fromSelf) return;
      const added = idsOf(payload.added);
      const removed = idsOf(payload.removed);
      if (added.length > 0) inOrder(() => memory.indexAdded(added), "indexing memories another instance added failed");
      if (removed.length > 0) inOrder(() => memory.forgetRemoved(removed), "dropping memories another instance removed failed");
    }),
    cluster.signals.onMissed(() => {
      inOrder(async () => {
        const { added, removed } = await memory.reconcile();
        logger.info({ added, removed }, "memory index reconciled with the rows after missed cluster signals");
      }, "reconciling the memory index after missed cluster signals failed");
    }),
  ];
  return {
    stop() {
      for (const off of offs) off();
    },
  };
}
