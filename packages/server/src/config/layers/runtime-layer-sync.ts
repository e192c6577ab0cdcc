/**
 * @module config/layers/runtime-layer-sync
 * The runtime layer (`PATCH /api/config`) kept by the node and shared by its instances (issue 18): a change is
 * checked, then stored in the node's settings (`config.runtime`, in the shared database), then applied, then told to
 * the other instances (the `config_changed` cluster signal), which read the stored layer and apply it. A restart
 * reads it back, so a runtime change outlives the process. Changes on one instance run one at a time (a plan made
 * before another change was applied would undo it).
 */
import { parseJson, type ConfigPatchResponse } from "@kai/protocol";
import type { ClusterSignals } from "../../cluster/cluster-types.js";
import type { Logger } from "../../logging/logger.js";
import type { Settings } from "./key-paths.js";
import type { LayeredConfig } from "./layered-config.js";

/** The settings key of the stored runtime layer. */
export const RUNTIME_LAYER_KEY = "config.runtime";
/** What `by` says for a change that came from another instance or the stored layer (not announced or audited again). */
export const SYNCED_BY = "cluster";

export interface RuntimeLayerSyncDeps {
  layered: LayeredConfig;
  settings: { getMeta(key: string): Promise<string | null>; setMeta(key: string, value: string): Promise<void> };
  signals?: Pick<ClusterSignals, "publish" | "subscribe">;
  logger: Logger;
}

export class RuntimeLayerSync {
  private queue: Promise<unknown> = Promise.resolve();
  private off: (() => void) | null = null;

  constructor(private readonly deps: RuntimeLayerSyncDeps) {}

  /** Applies the stored runtime layer (at start) and follows the other instances' changes. */
  async open(): Promise<void> {
    await this.restore("at start");
    this.off = this.deps.signals?.subscribe("config_changed", (_payload, meta) => {
      if (!meta.fromSelf) void this.serially(() => this.restore(`from instance ${meta.origin}`));
    }) ?? null;
  }

  /** `PATCH /api/config`: checked, stored, applied, told to the other instances. */
  change(settings: Readonly<Record<string, unknown>>, by: string): Promise<ConfigPatchResponse> {
    return this.serially(async () => {
      const plan = this.deps.layered.plan(settings);
      if (plan.changed.length === 0 && JSON.stringify(plan.runtime) === JSON.stringify(this.deps.layered.runtimeValues())) return { changed: [] };
      await this.deps.settings.setMeta(RUNTIME_LAYER_KEY, JSON.stringify(plan.runtime));
      const result = this.deps.layered.commit(plan, by);
      await this.deps.signals?.publish("config_changed", {}).catch((error: unknown) => this.deps.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "a configuration change could not be told to the other instances; they apply it at their next start"));
      return result;
    });
  }

  close(): void {
    this.off?.();
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async restore(when: string): Promise<void> {
    const text = await this.deps.settings.getMeta(RUNTIME_LAYER_KEY);
    if (text === null) return;
    const parsed = parseJson(text);
    if (!parsed.ok || parsed.value === null || typeof parsed.value !== "object" || Array.isArray(parsed.value)) {
      this.deps.logger.warn({ key: RUNTIME_LAYER_KEY }, "the stored runtime configuration is not readable: ignored");
      return;
    }
    try {
      const { changed } = this.deps.layered.restoreRuntime(parsed.value as Settings, SYNCED_BY);
      if (changed.length > 0) this.deps.logger.info({ keys: changed.map((change) => change.key) }, `runtime configuration applied ${when}`);
    } catch (error) {
      // A stored change the node cannot apply now (a file locked the key since, or it no longer changes live) is left as it is.
      this.deps.logger.warn({ reason: error instanceof Error ? error.message : String(error) }, `the stored runtime configuration could not be applied ${when}: kept the configuration from the files`);
    }
  }
}
