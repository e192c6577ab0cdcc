/**
 * @module config/layers/layer-model
 * The fixed order of the configuration layers, lowest first; a later layer's value wins, objects merge deeply and
 * arrays are replaced whole. Today's sources mapped onto the order of issue 18 and the anchors (env and flags above
 * the files, the API's runtime changes on top):
 *
 *   defaults < system file < policy file < user file < KAI_* environment < command line < runtime (API)
 *
 * and, in one agent's view only (`LayeredConfig.forAgent`), that agent's overrides file just below the runtime layer:
 *
 *   defaults < system < policy < user < env < cli < agent (its file) < runtime
 *
 * - `system` (KAI_SYSTEM_CONFIG) and `policy` (KAI_POLICY_CONFIG) are the files an operator or organisation keeps;
 *   only they may lock keys (`@locked`).
 * - `user` is the file of `--config` / KAI_CONFIG (the one file the node always had).
 * - `agent` is issue 18's "agent overrides": one operator-owned file per agent (agent-layers.ts), holding only the
 *   keys of AGENT_KEYS; it is part of that agent's view, never of the node-wide one (docs/decisions/0014).
 * - `runtime` holds what `PATCH /api/config` set, stored by the node and shared by its instances
 *   (runtime-layer-sync.ts, docs/decisions/0014-config-layers.md).
 */
import type { Settings } from "./key-paths.js";

export const LAYER_ORDER = ["defaults", "system", "policy", "user", "env", "cli", "agent", "runtime"] as const;
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
  /** The agent (`kClass:name`) an `agent` layer belongs to; absent on every other layer. */
  agent?: string;
}

/** The layers of the node-wide view: every layer but the agents' files. */
export function nodeLayers(layers: readonly ConfigLayer[]): ConfigLayer[] {
  return layers.filter((layer) => layer.name !== "agent");
}

/** The layers of one agent's view: the node's, with that agent's file (if any) in its place below the runtime layer. */
export function agentViewLayers(layers: readonly ConfigLayer[], agent: string): ConfigLayer[] {
  return layers.filter((layer) => layer.name !== "agent" || layer.agent === agent);
}
