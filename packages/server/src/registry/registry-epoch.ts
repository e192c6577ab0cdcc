/**
 * @module registry/registry-epoch
 * The registry's epoch: a random id created with the data and kept with it. Revisions are only comparable
 * within one epoch. A watcher that resumes "from revision 812" after the data directory was wiped (or
 * against a memory store that restarted, or another node) would otherwise be told "resumed" with nothing
 * replayed, because the new history happens to have reached 812 too. With the epoch in every snapshot and
 * resume, such a watcher gets a fresh snapshot instead.
 */
import { randomUUID } from "node:crypto";
import type { NodeSettingsStore } from "../storage/contracts/node-store.js";

/** Where the epoch is kept in the node settings (storage copy leaves it behind: a copy is a new history). */
export const REGISTRY_EPOCH_META = "registry.epoch";
const EPOCH_KEY = REGISTRY_EPOCH_META;

/** Reads the epoch, creating it on first use (instances of one node starting at once agree on one: `claimMeta`). */
export async function loadOrCreateEpoch(store: NodeSettingsStore): Promise<string> {
  const existing = await store.getMeta(EPOCH_KEY);
  if (existing) return existing;
  return store.claimMeta(EPOCH_KEY, randomUUID());
}
