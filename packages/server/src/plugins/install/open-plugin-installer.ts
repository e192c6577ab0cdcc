/**
 * @module plugins/install/open-plugin-installer
 * The plugin installer as server.ts composes it: `<dataDir>/plugins`, the catalog's own trust rule (plugins.trustedKeys
 * and, with plugins.trustPeers, the trusted federation peers: one rule for discovery and installs), `plugins.historyLimit` and
 * `plugins.maxPackageBytes`, the catalog to see which source provides an id, and after each change a rescan (or the
 * caller's onChanged: the runtime restarts the plugin) and the caller's verify (its start and health check).
 */
import type { SecurityEventInput } from "../../auth/security-log.js";
import type { Config } from "../../config/config-schema.js";
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
}

export function openPluginInstaller(options: OpenPluginInstallerOptions): PluginInstaller {
  const settings = options.config.plugins;
  const { catalog } = options;
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
  });
  // What a crash left half unpacked; never fatal (the next start tries again).
  void installer.sweepStaging().catch(() => undefined);
  return installer;
}
