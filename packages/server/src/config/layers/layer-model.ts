/**
 * @module config/layers/layer-model
 * The fixed order of the configuration layers, lowest first; a later layer's value wins, objects merge deeply and
 * arrays are replaced whole. Today's sources mapped onto the order of issue 18 and the anchors (env and flags above
 * the files, the API's runtime changes on top):
 *
 *   defaults < system file < policy file < user file < KAI_* environment < command line < runtime (API)
 *
 * - `system` (KAI_SYSTEM_CONFIG) and `policy` (KAI_POLICY_CONFIG) are the files an operator or organisation keeps;
 *   only they may lock keys (`@locked`).
 * - `user` is the file of `--config` / KAI_CONFIG (the one file the node always had).
 * - issue 18's "agent overrides" has no source yet: no setting is per agent today (run-agents carry their own
 *   specs in `agents.run`), so the layer is not listed rather than always empty.
 * - `runtime` holds what `PATCH /api/config` set, stored by the node and shared by its instances
 *   (runtime-layer-sync.ts, docs/decisions/0014-config-layers.md).
 */
import type { Settings } from "./key-paths.js";

export const LAYER_ORDER = ["defaults", "system", "policy", "user", "env", "cli", "runtime"] as const;
export type LayerName = (typeof LAYER_ORDER)[number];

/** The layers that may lock keys. */
export const LOCKING_LAYERS: ReadonlySet<LayerName> = new Set(["system", "policy"]);

export interface ConfigLayer {
  name: LayerName;
  /** A file path, `KAI_* environment`, `command line`, `API` or `built-in`. */
  source: string;
  /** The layer's own settings, `@env:` references already read, `@locked` taken out. */
  values: Settings;
  /** Dotted keys this layer locks (only system and policy). */
  locked: readonly string[];
  /** Dotted keys whose value came from an `@env:NAME` reference (explain says so). */
  fromEnv: Readonly<Record<string, string>>;
}
