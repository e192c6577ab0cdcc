/**
 * @module plugins/install/open-plugin-installer
 * The plugin installer as server.ts composes it: `<dataDir>/plugins`, the catalog's own trust rule (plugins.trustedKeys
 * and, with plugins.trustPeers, the trusted federation peers: one rule for discovery and installs), `plugins.historyLimit` and
 * `plugins.maxPackageBytes`, the catalog to see which source provides an id, and after each change a rescan (or the
 * caller's onChanged: the runtime restarts the plugin) and the caller's verify (its start and health check).
 *
 * With `installs` (the node's shared install store): every change that succeeded is recorded there for the other
 * instances (plugins/cluster/plugin-install-recorder.ts), and the follower keeps this instance's folder at what the
 * others recorded (plugin-install-follower.ts; the server opens it before the enabled plugins start). Its problems
 * show in this instance's `GET /api/plugins` errors.
 */
import { join } from "node:path";
import type { SecurityEventInput } from "../../auth/security-log.js";
import type { ClusterSignals } from "../../cluster/cluster-types.js";
import type { Config } from "../../config/config-schema.js";
import type { Logger } from "../../logging/logger.js";
import type { PluginInstallStore } from "../../storage/contracts/plugin-install-store.js";
import { InstallMarkers } from "../cluster/install-markers.js";
import { PluginInstallFollower } from "../cluster/plugin-install-follower.js";
import { PluginInstallRecorder } from "../cluster/plugin-install-recorder.js";
import type { PluginCatalog } from "../plugin-catalog.js";
import { PluginInstaller } from "./plugin-installer.js";

export interface OpenPluginInstallerOptions {
  config: Config;
  catalog: PluginCatalog;
  /** Default: `catalog.scan()`. */
  onChanged?: (id: string) => Promise<void> | void;
  verify?: (id: string) => Promise<void>;
  /** The security log (each install, update, rollback and remove). */
  audit?: { recordLater(input: SecurityEventInput): void };
  /** The node's shared install store and this instance's place in the cluster (signals only when instances share a database). */
  installs?: {
    store: PluginInstallStore;
    instanceName: string;
    signals?: Pick<ClusterSignals, "publish" | "subscribe" | "onMissed">;
    logger: Logger;
  };
}

export interface OpenedPluginInstaller {
  installer: PluginInstaller;
  /** Present with `installs`: open it once the runtime can be told of changes (before the enabled plugins start). */
  follower?: PluginInstallFollower;
}

export function openPluginInstaller(options: OpenPluginInstallerOptions): OpenedPluginInstaller {
  const settings = options.config.plugins;
  const { catalog, installs } = options;
  const markers = new InstallMarkers(join(options.config.dataDir, "plugins"));
  const installer = new PluginInstaller({
    dataDir: options.config.dataDir,
    isTrustedKey: (did) => catalog.isTrustedKey(did),
    historyLimit: settings.historyLimit,
    limits: { maxPackageBytes: settings.maxPackageBytes },
    lookup: (id) => {
      try {
        const { source, path } = catalog.get(id);
        return { source, path };
      } catch {
        return undefined; // not_found: no folder claims the id
      }
    },
    onChanged: options.onChanged ?? (() => catalog.scan()),
    ...(options.verify ? { verify: options.verify } : {}),
    ...(options.audit ? { audit: options.audit } : {}),
    ...(installs
      ? { share: new PluginInstallRecorder({ store: installs.store, markers, instanceName: installs.instanceName, logger: installs.logger, ...(installs.signals ? { signals: installs.signals } : {}), ...(options.audit ? { audit: options.audit } : {}) }) }
      : {}),
  });
  // What a crash left half unpacked; never fatal (the next start tries again).
  void installer.sweepStaging().catch(() => undefined);
  if (!installs) return { installer };
  const follower = new PluginInstallFollower({
    store: installs.store,
    markers,
    installer,
    logger: installs.logger,
    report: (problems) => catalog.reportProblems(problems),
    ...(installs.signals ? { signals: installs.signals } : {}),
  });
  return { installer, follower };
}
