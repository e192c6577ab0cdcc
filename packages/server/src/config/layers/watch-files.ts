/**
 * @module config/layers/watch-files
 * Reloads the configuration when one of its files (system, policy, user) or anything in the agents' overrides folder
 * changes (config/watch-folders.ts watches their folders and coalesces the events; a new agent file counts too). A reload is all or nothing (LayeredConfig.reload): an invalid file, or a change to a
 * setting that needs a restart, keeps the last good configuration and the log says why, naming the file and keys.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { watchFileFolders } from "../watch-folders.js";
import type { Logger } from "../../logging/logger.js";
import { ApiError } from "../../errors.js";
import { ConfigError } from "./config-error.js";
import type { ConfigLayer } from "./layer-model.js";
import type { LayeredConfig } from "./layered-config.js";

export interface ConfigFileWatch {
  close(): void;
}

/** The files the layers were read from. */
export function layerFiles(layers: readonly ConfigLayer[]): string[] {
  return layers.filter((layer) => layer.name === "system" || layer.name === "policy" || layer.name === "user").map((layer) => resolve(layer.source));
}

export function watchConfigFiles(options: { files: readonly string[]; folders?: readonly string[]; layered: LayeredConfig; logger: Logger; settleMs?: number }): ConfigFileWatch {
  const log = options.logger.child({ part: "config" });
  const reload = () => {
    try {
      const { changed } = options.layered.reload();
      if (changed.length > 0) log.info({ keys: changed.map((change) => change.key) }, "configuration reloaded from its files");
    } catch (error) {
      if (error instanceof ConfigError) log.warn({ reason: error.message }, "a configuration file is invalid: kept the last good configuration");
      else if (error instanceof ApiError) log.warn({ reason: error.message }, "a configuration file changed settings that need a restart: kept the running configuration");
      else log.error({ err: error }, "the configuration could not be reloaded: kept the last good configuration");
    }
  };
  // An agents' folder that does not exist cannot be watched: its files apply once it exists and the node restarts.
  const folders = (options.folders ?? []).filter((folder) => existsSync(folder));
  return watchFileFolders({ files: options.files, folders, onChange: reload, logger: log, what: "configuration files", ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}) });
}
