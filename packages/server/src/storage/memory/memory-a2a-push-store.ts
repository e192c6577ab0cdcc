/**
 * @module storage/memory/memory-a2a-push-store
 * The in-memory backend of `A2aPushStore` (contracts/a2a-push-store.ts): a map by task and id. A restart forgets
 * the configs, as it forgets the memory backend's tasks.
 */
import type { A2aPushStore, StoredPushConfig } from "../contracts/a2a-push-store.js";

const keyOf = (taskId: string, id: string) => `${taskId}\n${id}`;
const byTaskThenId = (a: StoredPushConfig, b: StoredPushConfig) => (a.taskId === b.taskId ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.taskId < b.taskId ? -1 : 1);

export class MemoryA2aPushStore implements A2aPushStore {
  private readonly rows = new Map<string, StoredPushConfig>();

  constructor(private readonly check: () => void) {}

  async putConfig(config: StoredPushConfig): Promise<StoredPushConfig> {
    this.check();
    const existing = this.rows.get(keyOf(config.taskId, config.id));
    const stored = { ...config, ...(existing ? { deliveredSeq: existing.deliveredSeq, createdAt: existing.createdAt } : {}) };
    this.rows.set(keyOf(config.taskId, config.id), stored);
    return { ...stored };
  }

  async getConfig(taskId: string, id: string): Promise<StoredPushConfig | null> {
    this.check();
    const row = this.rows.get(keyOf(taskId, id));
    return row ? { ...row } : null;
  }

  async listConfigs(taskId: string): Promise<StoredPushConfig[]> {
    this.check();
    return [...this.rows.values()].filter((row) => row.taskId === taskId).sort(byTaskThenId).map((row) => ({ ...row }));
  }

  async listAllConfigs(limit: number): Promise<StoredPushConfig[]> {
    this.check();
    return [...this.rows.values()].sort(byTaskThenId).slice(0, limit).map((row) => ({ ...row }));
  }

  async deleteConfig(taskId: string, id: string): Promise<boolean> {
    this.check();
    return this.rows.delete(keyOf(taskId, id));
  }

  async advanceConfig(taskId: string, id: string, seq: number): Promise<boolean> {
    this.check();
    const row = this.rows.get(keyOf(taskId, id));
    if (!row) return false;
    row.deliveredSeq = Math.max(row.deliveredSeq, seq);
    return true;
  }
}
