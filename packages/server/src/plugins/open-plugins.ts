/**
 * @module plugins/open-plugins
 * The plugins part as server.ts composes it: the catalog over the shipped plugins, `<dataDir>/plugins` and
 * `plugins.paths`, trusting `plugins.trustedKeys` and, when `plugins.trustPeers` is on, the node's trusted federation
 * peers (its KLP trust list). The first scan runs here, before the node listens; it cannot fail the start.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import { PluginCatalog } from "./plugin-catalog.js";

/** `packages/server/plugins`: the plugins shipped with the node (`system`); from `src/plugins/` and `dist/plugins/` alike. */
// From the module's own path as text: a URL object made here may come from another realm (the web app's tests load
// the server under jsdom, whose URL node:url does not accept).
export const SHIPPED_PLUGINS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "plugins");

export interface OpenPluginsOptions {
  config: Config;
  logger: Logger;
  /** The federation's trust list (FederationService.isTrustedPeer). */
  isTrustedPeer: (did: string) => boolean;
  /** Overrides the shipped plugins' folder (tests). */
  systemDir?: string;
}

export async function openPlugins(options: OpenPluginsOptions): Promise<PluginCatalog> {
  const settings = options.config.plugins;
  const trustedKeys = new Set(settings.trustedKeys);
  const systemDir = options.systemDir ?? (existsSync(SHIPPED_PLUGINS_DIR) ? SHIPPED_PLUGINS_DIR : undefined);
  const catalog = new PluginCatalog({
    enabled: settings.enabled,
    dataDir: options.config.dataDir,
    paths: settings.paths,
    ...(systemDir ? { systemDir } : {}),
    isTrustedKey: (did) => trustedKeys.has(did) || (settings.trustPeers && options.isTrustedPeer(did)),
    logger: options.logger.child({ part: "plugins" }),
  });
  try {
    await catalog.scan();
  } catch (error) {
    // Discovery lists every expected failure per plugin; anything else is a fault of ours, and still not a failed start.
    options.logger.error({ err: error }, "plugins: the plugin folders could not be read; GET /api/plugins lists none until a rescan");
  }
  return catalog;
}
