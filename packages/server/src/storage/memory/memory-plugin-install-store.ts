/**
 * @module storage/memory/memory-plugin-install-store
 * The in-memory backend of `PluginInstallStore` (contracts/plugin-install-store.ts): a map by plugin id. A restart
 * forgets it, as the memory backend forgets everything; one process has no other instance to tell anyway.
 */
import { headOf, type PluginInstallHead, type PluginInstallStore, type PluginInstallWrite, type StoredPluginInstall } from "../contracts/plugin-install-store.js";

export class MemoryPluginInstallStore implements PluginInstallStore {
  private readonly rows = new Map<string, StoredPluginInstall>();

  constructor(private readonly check: () => void) {}

  async putInstall(write: PluginInstallWrite): Promise<PluginInstallHead> {
    this.check();
    const row: StoredPluginInstall = { ...write, package: write.package ? Buffer.from(write.package) : null, revision: (this.rows.get(write.id)?.revision ?? 0) + 1 };
    this.rows.set(write.id, row);
    return headOf(row);
  }

  async getInstall(id: string): Promise<StoredPluginInstall | null> {
    this.check();
    const row = this.rows.get(id);
    return row ? { ...row, package: row.package ? Buffer.from(row.package) : null } : null;
  }

  async copyInstall(row: StoredPluginInstall): Promise<boolean> {
    this.check();
    if (this.rows.has(row.id)) return false;
    this.rows.set(row.id, { ...row, package: row.package ? Buffer.from(row.package) : null });
    return true;
  }

  async listInstalls(): Promise<PluginInstallHead[]> {
    this.check();
    return [...this.rows.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(headOf);
  }
}
