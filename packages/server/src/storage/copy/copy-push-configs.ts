/**
 * @module storage/copy/copy-push-configs
 * Copies the A2A push notification configs (contracts/a2a-push-store.ts) for `kai storage copy`: each row as it is,
 * its delivery position included, so the copied node's push delivery resumes after the last event pushed instead of
 * sending a task's events again. The credentials stay sealed: they were sealed with a key derived from the node key,
 * which the copy carries too (copy-vault.ts), so the target opens them.
 */
import type { A2aPushStore, StoredPushConfig } from "../contracts/a2a-push-store.js";
import type { Progress } from "./copy-node.js";

/**
 * More configs than any node holds: a config lives only while its task runs, at most a few per task. The contract
 * lists them in one call (the delivery job's work list), so the copy asks for all at once and checks it got them.
 */
const ALL = 1_000_000;

/** Every push config, by task then id. */
export async function allPushConfigs(store: A2aPushStore): Promise<StoredPushConfig[]> {
  const configs = await store.listAllConfigs(ALL);
  if (configs.length >= ALL) throw new Error(`more than ${ALL} A2A push configs: too many to copy in one pass`);
  return configs;
}

export async function copyPushConfigs(source: A2aPushStore, target: A2aPushStore, progress: Progress): Promise<{ pushConfigs: number }> {
  const configs = await allPushConfigs(source);
  for (const config of configs) {
    if (await target.getConfig(config.taskId, config.id)) throw new Error(`A2A push config ${config.id} of task ${config.taskId}: the target already holds it`);
    await target.putConfig(config);
  }
  progress(`A2A push configs: ${configs.length} copied (delivery resumes where it stopped)`);
  return { pushConfigs: configs.length };
}
