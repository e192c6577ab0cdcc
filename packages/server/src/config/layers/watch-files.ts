/**
 * @module config/layers/watch-files
 * Reloads the configuration when one of its files (system, policy, user) changes. The folder is watched rather than
 * the file, so an editor's or a ConfigMap's write-and-rename is seen too; events are coalesced for a moment (one
 * save is often several events). A reload is all or nothing (LayeredConfig.reload): an invalid file, or a change to a
 * setting that needs a restart, keeps the last good configuration and the log says why, naming the file and keys.
 */
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
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

export function watchConfigFiles(options: { files: readonly string[]; layered: LayeredConfig; logger: Logger; settleMs?: number }): ConfigFileWatch {
  const log = options.logger.child({ part: "config" });
  const byFolder = new Map<string, Set<string>>();
  for (const file of options.files) {
    const folder = dirname(file);
    byFolder.set(folder, (byFolder.get(folder) ?? new Set()).add(basename(file)));
  }
  let timer: NodeJS.Timeout | null = null;
  const reload = () => {
    timer = null;
    try {
      const { changed } = options.layered.reload();
      if (changed.length > 0) log.info({ keys: changed.map((change) => change.key) }, "configuration reloaded from its files");
    } catch (error) {
      if (error instanceof ConfigError) log.warn({ reason: error.message }, "a configuration file is invalid: kept the last good configuration");
      else if (error instanceof ApiError) log.warn({ reason: error.message }, "a configuration file changed settings that need a restart: kept the running configuration");
      else log.error({ err: error }, "the configuration could not be reloaded: kept the last good configuration");
    }
  };
  const watchers: FSWatcher[] = [];
  for (const [folder, names] of byFolder) {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        if (name !== null && !names.has(String(name))) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(reload, options.settleMs ?? 100);
        timer.unref();
      });
      watcher.on("error", (error) => log.warn({ err: error, folder }, "configuration files are no longer watched"));
      watchers.push(watcher);
    } catch (error) {
      log.warn({ err: error, folder }, "configuration files cannot be watched: changes apply at the next restart");
    }
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
