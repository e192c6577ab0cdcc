/**
 * @module storage/copy/copy-plugin-installs
 * Copies the desired plugin installs (contracts/plugin-install-store.ts, issue 18) for `kai storage copy`, backups and
 * restores: every row as it is, its package's bytes, hash, trust and revision included. Why the revision too: each
 * instance keeps a marker of the row its plugins folder holds (plugins/cluster/install-markers.ts); a copy that
 * numbered the rows 1 again would make every instance that keeps its data folder follow (re-install) a row it holds,
 * and the next change of that id could reach a revision a stale marker still names. The rows stay untrusted on the
 * target as on the source: an instance that follows one checks its bytes and folder with its own keys.
 */
import type { PluginInstallStore, StoredPluginInstall } from "../contracts/plugin-install-store.js";
import type { Progress } from "./copy-node.js";

/** Every row with its package, by id, read one at a time (a row carries a whole package, up to `plugins.maxPackageBytes`). */
export async function* eachPluginInstall(store: PluginInstallStore): AsyncGenerator<StoredPluginInstall> {
  for (const head of await store.listInstalls()) {
    const row = await store.getInstall(head.id);
    if (row) yield row;
  }
}

export async function copyPluginInstalls(source: PluginInstallStore, target: PluginInstallStore, progress: Progress): Promise<{ pluginInstalls: number; bytes: number }> {
  let copied = 0;
  let bytes = 0;
  for await (const row of eachPluginInstall(source)) {
    if (!(await target.copyInstall(row))) throw new Error(`plugin install ${row.id}: the target already holds it`);
    copied++;
    bytes += row.package?.length ?? 0;
  }
  progress(`plugin installs: ${copied} copied with their packages (${bytes} bytes)`);
  return { pluginInstalls: copied, bytes };
}
