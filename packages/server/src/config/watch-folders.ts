/**
 * @module config/watch-folders
 * Calls `onChange` a moment after any of some files changes, for files the node reloads while it runs (its
 * configuration files, its TLS certificate). The folders are watched rather than the files, so an editor's or a
 * ConfigMap's write-and-rename and certbot's symlink swap are seen too; events are coalesced for `settleMs` (one save
 * is often several events, a renewal writes key and certificate one after the other). A folder that cannot be
 * watched is logged, not fatal: its files then apply at the next restart.
 */
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { Logger } from "../logging/logger.js";

export interface FolderWatch {
  close(): void;
}

export function watchFileFolders(options: {
  files: readonly string[];
  /** Folders where any entry counts (the agents' overrides files: a new file is a change too). */
  folders?: readonly string[];
  onChange: () => void;
  logger: Logger;
  /** What the files are, for the log ("configuration files", "TLS certificate files"). */
  what: string;
  settleMs?: number;
  /** Also react to names starting with `..` (Kubernetes' and certbot's symlinked data folders). */
  linkedNames?: boolean;
}): FolderWatch {
  const byFolder = new Map<string, Set<string>>();
  for (const file of options.files.map((one) => resolve(one))) byFolder.set(dirname(file), (byFolder.get(dirname(file)) ?? new Set()).add(basename(file)));
  const anyName = new Set((options.folders ?? []).map((one) => resolve(one)));
  for (const folder of anyName) if (!byFolder.has(folder)) byFolder.set(folder, new Set());
  let timer: NodeJS.Timeout | null = null;
  const watchers: FSWatcher[] = [];
  for (const [folder, names] of byFolder) {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        if (name !== null && !anyName.has(folder) && !names.has(String(name)) && !(options.linkedNames && String(name).startsWith(".."))) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = null;
          options.onChange();
        }, options.settleMs ?? 100);
        timer.unref();
      });
      watcher.on("error", (error) => options.logger.warn({ err: error, folder }, `${options.what} are no longer watched`));
      watchers.push(watcher);
    } catch (error) {
      options.logger.warn({ err: error, folder }, `${options.what} cannot be watched: changes apply at the next restart`);
    }
  }
  return {
    close() {
      if (timer) clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
    },
  };
}
