/**
 * @module plugins/cluster/plugin-install-follower
 * Keeps this instance's plugins folder at the desired installs the other instances recorded (docs/plugins.md
 * "Cluster"): at start (before the enabled plugins start), on each `plugin_installed` signal from another instance,
 * and when this instance may have missed signals, every row of the shared install store whose revision this folder
 * does not hold (install-markers.ts) is handed to the installer's `follow`, which checks it here as it checks any
 * package: the bytes against the recorded SHA-256, the package's limits, the manifest and node API, and the trust
 * level decided by this instance's own keys (never taken from the row). A row this instance refuses or cannot start
 * is reported (a warning, a failed `plugin.sync` security event, and a problem in this instance's `GET /api/plugins`
 * errors), and rolls back nothing anywhere else; it is tried again at the next start or the next change of that id.
 * One row at a time, in id order.
 */
import { join } from "node:path";
import type { PluginProblem } from "@kai/protocol";
import type { ClusterSignals } from "../../cluster/cluster-types.js";
import type { Logger } from "../../logging/logger.js";
import type { PluginInstallHead, PluginInstallStore, StoredPluginInstall } from "../../storage/contracts/plugin-install-store.js";
import type { PluginInstaller } from "../install/plugin-installer.js";
import { InstallMarkers } from "./install-markers.js";
import { PLUGIN_INSTALLED_SIGNAL } from "./plugin-install-recorder.js";

export interface PluginInstallFollowerDeps {
  store: PluginInstallStore;
  markers: InstallMarkers;
  installer: Pick<PluginInstaller, "follow" | "root">;
  signals?: Pick<ClusterSignals, "subscribe" | "onMissed">;
  logger: Logger;
  /** Where this instance shows the rows it could not follow (the catalog's listing errors). */
  report: (problems: PluginProblem[]) => void;
}

interface Failure {
  revision: number;
  sha256: string | null;
  problem: PluginProblem;
}

export class PluginInstallFollower {
  private readonly failures = new Map<string, Failure>();
  private queue: Promise<void> = Promise.resolve();
  private offs: Array<() => void> = [];
  private closed = false;

  constructor(private readonly deps: PluginInstallFollowerDeps) {}

  /** Follows every row this folder does not hold yet (a refused one is reported, never thrown), then the signals. */
  async open(): Promise<void> {
    const { signals } = this.deps;
    if (signals) {
      this.offs.push(
        // This instance's own changes too: its folder holds them already, and a problem it listed for that id is over.
        signals.subscribe(PLUGIN_INSTALLED_SIGNAL, (payload) => {
          if (typeof payload.id !== "string") return;
          const id = payload.id;
          void this.serially(() => this.followOne(id, true));
        }),
        signals.onMissed(() => void this.serially(() => this.followAll(false))),
      );
    }
    await this.serially(() => this.followAll(true));
  }

  /** Stops following; resolves once the row being followed (if any) is done. */
  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.offs.splice(0)) off();
    await this.queue;
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(work).catch((error: unknown) => {
      this.deps.logger.error({ err: error instanceof Error ? error.message : String(error) }, "plugins: following the other instances' installs failed; tried again at the next change or start");
    });
    this.queue = next;
    return next;
  }

  /** `retry`: also rows that failed here before (at start: this instance's keys or limits may have changed). */
  private async followAll(retry: boolean): Promise<void> {
    const heads = await this.deps.store.listInstalls();
    for (const head of heads) {
      if (this.closed) return;
      const failed = this.failures.get(head.id);
      if (!retry && failed && failed.revision === head.revision && failed.sha256 === head.sha256) continue;
      await this.followOne(head.id, retry);
    }
  }

  private async followOne(id: string, retry: boolean): Promise<void> {
    if (this.closed) return;
    const { store, markers, installer, logger } = this.deps;
    let wanted: StoredPluginInstall | undefined;
    let holds = false;
    try {
      // Read under the installer's lock for the id: a change made here meanwhile is never overtaken by an older row.
      const applied = await installer.follow(id, async () => {
        const row = await store.getInstall(id);
        if (!row) return undefined;
        if (InstallMarkers.matches(await markers.read(id), row)) {
          holds = true;
          return undefined;
        }
        const failed = this.failures.get(id);
        if (!retry && failed && failed.revision === row.revision && failed.sha256 === row.sha256) return undefined;
        wanted = row;
        return row;
      }, (row) => markers.write(id, { revision: row.revision, sha256: row.sha256, action: row.action }));
      if (applied) logger.info({ plugin: id, action: applied.action, version: applied.version, revision: applied.revision, origin: applied.origin }, `plugin ${id}: followed the ${applied.action} of ${applied.version} made on instance ${applied.origin}`);
      if (applied || holds) this.clear(id);
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).slice(0, 500);
      if (!wanted) throw error;
      const row = wanted;
      logger.warn({ plugin: id, action: row.action, version: row.version, revision: row.revision, origin: row.origin, reason }, `plugin ${id}: the ${row.action} of ${row.version} made on instance ${row.origin} was not applied on this instance: ${reason}`);
      this.failures.set(id, { revision: row.revision, sha256: row.sha256, problem: problemOf(installer.root, row, reason) });
      this.publish();
    }
  }

  private clear(id: string): void {
    if (this.failures.delete(id)) this.publish();
  }

  private publish(): void {
    this.deps.report([...this.failures.values()].map((failure) => failure.problem));
  }
}

function problemOf(root: string, row: Pick<PluginInstallHead, "id" | "action" | "version" | "revision" | "origin">, reason: string): PluginProblem {
  return { file: join(root, row.id), field: "cluster", message: `the ${row.action} of ${row.id} ${row.version} (revision ${row.revision}, made on instance ${row.origin}) is not applied on this instance: ${reason}` };
}
