/**
 * @module storage/contracts/a2a-push-store
 * Where the A2A push notification configs of kCore's tasks are kept (issue 16, agents/a2a/server/push/): one row
 * per (task, config id), over the task store's database, so a config survives a restart and every instance of a
 * node sees the same ones. A row carries how far its delivery got (`deliveredSeq`: the task events up to that seq
 * were pushed), so a restarted or new leader resumes after it instead of sending everything again.
 * Credentials are stored sealed (the push service seals them before they reach the store): a row never holds them in clear.
 */

export interface StoredPushConfig {
  taskId: string;
  /** The config's id within its task (the caller's, or one the node chose). */
  id: string;
  /** The task's owner: delivery reads the task's events as this owner (the event hub's access rule). */
  owner: string;
  url: string;
  /** The HTTP authentication scheme (`Bearer`, `Basic`…), in clear; null without authentication. */
  scheme: string | null;
  /** The credentials and the legacy token, sealed (push/push-credentials.ts); null when there are none. */
  sealed: string | null;
  /** The task events with seq ≤ this were pushed (or were before the config existed). */
  deliveredSeq: number;
  createdAt: string;
}

export interface A2aPushStore {
  /**
   * Creates the config, or replaces it when (taskId, id) exists — keeping the existing row's `deliveredSeq`, so a
   * client re-sending the same config never gets the task's events twice.
   */
  putConfig(config: StoredPushConfig): Promise<StoredPushConfig>;
  getConfig(taskId: string, id: string): Promise<StoredPushConfig | null>;
  /** The task's configs by id. */
  listConfigs(taskId: string): Promise<StoredPushConfig[]>;
  /** Every task's configs (the delivery job's work list), by task then id; at most `limit`. */
  listAllConfigs(limit: number): Promise<StoredPushConfig[]>;
  /** True when it existed. */
  deleteConfig(taskId: string, id: string): Promise<boolean>;
  /** Moves `deliveredSeq` forward to `seq` (never back); false when the config is gone. */
  advanceConfig(taskId: string, id: string, seq: number): Promise<boolean>;
}
