/**
 * @module plugins/cluster/plugin-install-recorder
 * The installer's `share` (plugins/install/plugin-installer.ts): a change that succeeded on this instance (install,
 * update, rollback, remove, after its verify passed) becomes the desired state of its plugin id in the shared install
 * store, this instance's marker says its folder holds that row, and the other instances are told (the
 * `plugin_installed` cluster signal; one that misses it finds the row at its next start or when it learns it missed
 * signals). Recording never fails the change: the folder here is in place and verified; a store that cannot be
 * written is logged as an error and a failed `plugin.share` security event (the others keep their version until the
 * next change is recorded).
 */
import type { SecurityEventInput } from "../../auth/security-log.js";
import type { ClusterSignals } from "../../cluster/cluster-types.js";
import type { Logger } from "../../logging/logger.js";
import type { PluginInstallStore } from "../../storage/contracts/plugin-install-store.js";
import type { InstallShare, SharedInstallChange } from "../install/plugin-installer.js";
import type { InstallMarkers } from "./install-markers.js";

/** The signal every instance follows: `{ id, revision }` (cluster/cluster-types.ts). */
export const PLUGIN_INSTALLED_SIGNAL = "plugin_installed";

export interface PluginInstallRecorderDeps {
  store: PluginInstallStore;
  markers: InstallMarkers;
  /** This instance's name (the row's `origin`). */
  instanceName: string;
  signals?: Pick<ClusterSignals, "publish">;
  logger: Logger;
  audit?: { recordLater(input: SecurityEventInput): void };
  now?: () => Date;
}

export class PluginInstallRecorder implements InstallShare {
  constructor(private readonly deps: PluginInstallRecorderDeps) {}

  async recorded(change: SharedInstallChange): Promise<void> {
    const { deps } = this;
    let revision: number;
    try {
      const head = await deps.store.putInstall({
        id: change.id,
        action: change.action,
        version: change.version,
        package: change.package?.bytes ?? null,
        sha256: change.package?.sha256 ?? null,
        trust: change.trust === null ? null : change.trust.level === "trusted" ? "trusted" : "unverified",
        signer: change.trust?.signer ?? null,
        purge: change.purge,
        by: change.by ?? "node",
        origin: deps.instanceName,
        at: (deps.now?.() ?? new Date()).toISOString(),
      });
      revision = head.revision;
      await deps.markers.write(change.id, { revision, sha256: head.sha256, action: head.action });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      deps.logger.error({ plugin: change.id, action: change.action, err: reason }, `plugin ${change.id}: the ${change.action} is done on this instance but could not be recorded for the other instances`);
      deps.audit?.recordLater({ type: "plugin.share", outcome: "failure", actor: change.by ?? null, details: { plugin: change.id, action: change.action, version: change.version, reason: reason.slice(0, 500) } });
      return;
    }
    await deps.signals?.publish(PLUGIN_INSTALLED_SIGNAL, { id: change.id, revision }).catch((error: unknown) =>
      deps.logger.warn({ plugin: change.id, err: error instanceof Error ? error.message : String(error) }, `plugin ${change.id}: the other instances could not be told of the ${change.action}; they follow it at their next start`),
    );
  }
}
