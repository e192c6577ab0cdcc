/**
 * @module plugins/plugin-catalog
 * What this instance knows about its plugins: the last discovery (at start and on each rescan), listed by
 * `GET /api/plugins`. Plugin folders live on each host's disk, so every instance reads its own; nothing here is
 * node-wide state. Broken plugins are logged once per scan as warnings (id and problem, no file contents). Problems
 * another part reports about this instance's folders (a plugin change of another instance that was not applied here:
 * plugins/cluster/plugin-install-follower.ts) are listed with the scan's own.
 */
import { join, resolve } from "node:path";
import { PLUGIN_API_VERSION, type PluginDetail, type PluginListResponse, type PluginProblem, type PluginSummary } from "@kai/protocol";
import { ApiError } from "../errors.js";
import type { Logger } from "../logging/logger.js";
import { discoverPlugins, type PluginRoot } from "./plugin-discovery.js";
import type { PluginFileLimits } from "./plugin-files.js";

export interface PluginCatalogOptions {
  /** `plugins.enabled`: false reads no folder. */
  enabled: boolean;
  dataDir: string;
  /** `plugins.paths`, resolved against the working directory. */
  paths: readonly string[];
  /** The folder of plugins shipped with the node (absent: none). */
  systemDir?: string;
  isTrustedKey: (did: string) => boolean;
  logger?: Logger;
  apiVersion?: string;
  limits?: PluginFileLimits;
  now?: () => Date;
}

export class PluginCatalog {
  private plugins: PluginDetail[] = [];
  private errors: PluginProblem[] = [];
  private reported: PluginProblem[] = [];
  private scannedAt: Date;
  private scanning: Promise<void> | null = null;

  constructor(private readonly options: PluginCatalogOptions) {
    this.scannedAt = (options.now ?? (() => new Date()))();
  }

  /** Whether a signer's key makes a plugin `trusted` (the installer checks packages and update manifests with the same rule). */
  isTrustedKey(did: string): boolean {
    return this.options.isTrustedKey(did);
  }

  /** The roots in the order their plugins win an id: shipped with the node, the data dir, then configured paths. */
  roots(): PluginRoot[] {
    const roots: PluginRoot[] = [];
    if (this.options.systemDir) roots.push({ path: this.options.systemDir, source: "system" });
    roots.push({ path: join(this.options.dataDir, "plugins"), source: "data" });
    for (const path of this.options.paths) roots.push({ path: resolve(path), source: "config", required: true });
    return roots;
  }

  /** Reads every folder again; concurrent calls share one scan. Never throws for a plugin's sake. */
  scan(): Promise<void> {
    this.scanning ??= this.runScan().finally(() => {
      this.scanning = null;
    });
    return this.scanning;
  }

  private async runScan(): Promise<void> {
    if (!this.options.enabled) {
      this.plugins = [];
      this.errors = [];
      this.scannedAt = (this.options.now ?? (() => new Date()))();
      return;
    }
    const found = await discoverPlugins(this.roots(), {
      isTrustedKey: this.options.isTrustedKey,
      ...(this.options.apiVersion ? { apiVersion: this.options.apiVersion } : {}),
      ...(this.options.limits ? { limits: this.options.limits } : {}),
    });
    this.plugins = found.plugins;
    this.errors = found.errors;
    this.scannedAt = (this.options.now ?? (() => new Date()))();
    const log = this.options.logger;
    if (!log) return;
    for (const problem of found.errors) log.warn({ path: problem.file }, `plugins: ${problem.message}`);
    for (const plugin of found.plugins) {
      if (plugin.errors.length > 0) log.warn({ plugin: plugin.id, state: plugin.state, problems: plugin.errors.length }, `plugin ${plugin.id} is ${plugin.state}: ${plugin.errors[0]?.field ?? ""} ${plugin.errors[0]?.message ?? ""}`.trim());
    }
    log.info({ plugins: found.plugins.length, trusted: found.plugins.filter((p) => p.trust.level !== "unverified").length }, "plugins discovered");
  }

  /** Replaces the problems reported from outside the scan (listed after the scan's own until reported again). */
  reportProblems(problems: readonly PluginProblem[]): void {
    this.reported = problems.map((problem) => ({ ...problem }));
  }

  list(): PluginListResponse {
    return {
      apiVersion: this.options.apiVersion ?? PLUGIN_API_VERSION,
      plugins: this.plugins.map(summaryOf),
      errors: [...this.errors, ...this.reported].map((problem) => ({ ...problem })),
      scannedAt: this.scannedAt.toISOString(),
    };
  }

  /** The plugin with this id (the one in use, when several folders claim it); 404 `not_found` otherwise. */
  get(id: string): PluginDetail {
    const found = this.plugins.find((plugin) => plugin.id === id);
    if (!found) throw new ApiError("not_found", `no plugin ${JSON.stringify(id.slice(0, 100))}`);
    return found;
  }
}

function summaryOf(plugin: PluginDetail): PluginSummary {
  const { id, name, version, folder, source, state, trust, errors } = plugin;
  return { id, ...(name === undefined ? {} : { name }), ...(version === undefined ? {} : { version }), folder, source, state, trust, errors };
}
