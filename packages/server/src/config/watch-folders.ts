/**
 * @module config/watch-folders
 * Calls `onChange` a moment after any of some files changes, for files the node reloads while it runs (its
 * configuration files, its TLS certificate). The folders are watched rather than the files, so an editor's or a
 * ConfigMap's write-and-rename and certbot's symlink swap are seen too; events are coalesced for `settleMs` (one save
 * is often several events, a renewal writes key and certificate one after the other). A folder that cannot be
 * watched is logged, not fatal: its files then apply at the next restart.
 *
 * A file that is a symbolic link is followed to what it names, link by link, and the folder of every link on the way
 * is watched too (for that link's name): `/etc/kai/tls/cert.pem → /etc/letsencrypt/live/host/fullchain.pem →
 * ../../archive/host/fullchain1.pem`, certbot's layout, renews by swapping the link in `live/host`, a folder the
 * configured path does not name. Watching only the configured file's folder missed that renewal silently (the node
 * served the old certificate until it expired). The links are followed again after every change, so a link that now
 * leads elsewhere has its new folders watched from then on.
 */
import { readlinkSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import type { Logger } from "../logging/logger.js";

export interface FolderWatch {
  close(): void;
}

/** Links followed from one file at most (a loop of links ends here; real chains are one to three long). */
const MAX_LINK_HOPS = 16;

/** `file` and every path its symbolic links lead to, in order (just `file` when it is no link, or gone). */
export function linkChain(file: string): string[] {
  const chain = [file];
  let current = file;
  for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
    let target: string;
    try {
      target = readlinkSync(current);
    } catch {
      // Not a link (EINVAL), or not there (yet): the chain ends here.
      break;
    }
    current = resolve(dirname(current), target);
    chain.push(current);
  }
  return chain;
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
  const anyName = new Set((options.folders ?? []).map((one) => resolve(one)));
  /** The names that count in each watched folder; updated when links lead elsewhere after a change. */
  const byFolder = new Map<string, Set<string>>();
  const watchers = new Map<string, FSWatcher>();
  /** Folders a watch was tried on: one that cannot be watched is not tried again on every change (its warning said so). */
  const tried = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const changed = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      if (closed) return;
      arm();
      options.onChange();
    }, options.settleMs ?? 100);
    timer.unref();
  };
  const watchFolder = (folder: string) => {
    try {
      const watcher = watch(folder, { persistent: false }, (_event, name) => {
        const names = byFolder.get(folder);
        if (name !== null && !anyName.has(folder) && !names?.has(String(name)) && !(options.linkedNames && String(name).startsWith(".."))) return;
        changed();
      });
      watcher.on("error", (error) => options.logger.warn({ err: error, folder }, `${options.what} are no longer watched`));
      watchers.set(folder, watcher);
    } catch (error) {
      options.logger.warn({ err: error, folder }, `${options.what} cannot be watched: changes apply at the next restart`);
    }
  };
  /** Works out which names of which folders count now (following links), and watches any folder not watched yet. */
  const arm = () => {
    for (const names of byFolder.values()) names.clear();
    for (const file of options.files) {
      for (const path of linkChain(resolve(file))) {
        const folder = dirname(path);
        byFolder.set(folder, (byFolder.get(folder) ?? new Set()).add(basename(path)));
      }
    }
    for (const folder of anyName) if (!byFolder.has(folder)) byFolder.set(folder, new Set());
    for (const folder of byFolder.keys()) {
      if (tried.has(folder)) continue;
      tried.add(folder);
      watchFolder(folder);
    }
  };
  arm();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
    },
  };
}
