/**
 * @module storage/contracts/plugin-install-store
 * The desired plugin installs of a node (issue 18 with issue 13; docs/decisions/0015-plugin-installs-across-instances.md):
 * one row per plugin id installed through the API, holding what the plugins folder of every instance should have for
 * it after the last install, update, rollback or remove that succeeded somewhere: the version, the package's bytes
 * (a .tar.gz, at most `plugins.maxPackageBytes`) and their SHA-256, and the trust level the instance that made the
 * change saw. Kept in the node's database because that is the one thing every instance shares; each instance's
 * plugins folder is its own disk. A row is never trusted as it stands: an instance that follows it checks the bytes
 * against the hash and the unpacked folder as it checks any package (plugins/cluster/plugin-install-sync.ts).
 *
 * `revision` is the row's own counter, bumped by every put (the store assigns it atomically, so two instances that
 * record one id at once get two revisions and the later write wins everywhere). Rows are never deleted: a remove is
 * a row with `action: "remove"` and no package.
 */

export type PluginInstallAction = "install" | "update" | "rollback" | "remove";

/** What a put carries; the store adds the revision. */
export interface PluginInstallWrite {
  id: string;
  action: PluginInstallAction;
  /** The version now in place (the removed one for a remove). */
  version: string;
  /** The package (.tar.gz) of the folder now in place; null for a remove. */
  package: Buffer | null;
  /** Hex SHA-256 of `package`; null for a remove. */
  sha256: string | null;
  /** The trust level the recording instance decided for the folder (`system` never: shipped plugins are not installed). */
  trust: "trusted" | "unverified" | null;
  /** The key that signed it, when signed. */
  signer: string | null;
  /** A remove that also deleted the history (`purge`). */
  purge: boolean;
  /** Who made the change (the caller's owner). */
  by: string;
  /** The instance that made it (its name). */
  origin: string;
  at: string;
}

/** A stored row without its package bytes (what a listing returns). */
export type PluginInstallHead = Omit<PluginInstallWrite, "package"> & { revision: number; bytes: number };

export type StoredPluginInstall = PluginInstallWrite & { revision: number };

export interface PluginInstallStore {
  /** Records `write` as the desired state of its id, replacing the previous row; answers it with its revision (1, then previous + 1). */
  putInstall(write: PluginInstallWrite): Promise<PluginInstallHead>;
  /** The row of `id` with its package; null when none was ever recorded. */
  getInstall(id: string): Promise<StoredPluginInstall | null>;
  /** Every row without package bytes, by id. */
  listInstalls(): Promise<PluginInstallHead[]>;
  /**
   * Stores `row` exactly as another backend held it, its revision included (`kai storage copy`, backups and restores:
   * storage/copy/copy-plugin-installs.ts), so that the instances' markers of the rows they hold stay true on the copy.
   * Never replaces a row: false when the id is already there.
   */
  copyInstall(row: StoredPluginInstall): Promise<boolean>;
}

/** The head of a stored row (the listing's shape). */
export function headOf(row: StoredPluginInstall): PluginInstallHead {
  const { package: bytes, ...head } = row;
  return { ...head, bytes: bytes?.length ?? 0 };
}
