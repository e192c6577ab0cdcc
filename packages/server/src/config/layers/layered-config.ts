/**
 * @module config/layers/layered-config
 * The running node's configuration and its layers: `explain` (each layer's value for a key and which one wins) and
 * `change` (the runtime layer, `PATCH /api/config`).
 *
 * A change is all or nothing: the new runtime layer is resolved with every other layer (validation, locks) before
 * anything is touched; if any effective value that would change is not a live setting, nothing is applied and the
 * answer is 409 `config_restart_required` naming the keys. Otherwise the shared `Config` object is updated in place
 * (every part holds that one object) and each live setting's applier runs (e.g. the loggers' level). Each changed
 * key is then reported to `onChanged` (server.ts: the security log and a CONFIG_UPDATE event), values redacted.
 *
 * Live settings are only those whose users read them at use time or have an applier: `logging.level`, the rate
 * limits' tiers (`rateLimit.global|auth|read|write|heartbeat|gateway`, read per request by http/rate-limit.ts) and the
 * gateway's routing settings (gateway/router/router-options.ts `LIVE_ROUTING_KEYS`), `tracing.traceUrl` (read at each log
 * listing);
 * `rateLimit.enabled` needs a restart. The runtime layer is stored by the node and shared by its instances
 * (runtime-layer-sync.ts).
 *
 * Agents' views (`forAgent`): the node's layers with that agent's overrides file (agent-layers.ts) below the runtime
 * layer, resolved once per agent and kept until the layers change (a commit replaces them with the plan's views, which
 * the plan resolved and checked with everything else: a file or runtime change that breaks any agent's view is
 * refused whole). An agent without a file sees the node's own object. A change that alters an agent's view where it
 * differs from the node's (its file's keys) is reported with the agent's id; the node-wide changes are reported once,
 * without one.
 */
import { resolve } from "node:path";
import type { ConfigExplainResponse, ConfigPatchResponse } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { Config } from "../config-schema.js";
import { ConfigError } from "./config-error.js";
import { changedKeys, cloneSettings, getAt, overlaps, sameValue, setAt, splitKey, unsetAt, type Settings } from "./key-paths.js";
import { agentViewLayers, nodeLayers, type ConfigLayer } from "./layer-model.js";
import { agentLayerKeys } from "./agent-layers.js";
import { makeLayer } from "./read-layer.js";
import { redactAt } from "./redact.js";
import { lockOf, resolveLayers, setsKey, winnerOf } from "./resolve-layers.js";

/** A checked change, not yet applied (`LayeredConfig.plan`, then `commit`). */
export interface ConfigPlan {
  layers: ConfigLayer[];
  next: Config;
  changed: string[];
  /** The runtime layer's values after it (what to store). */
  runtime: Settings;
  /** The layers it was planned on: a commit on other layers is refused. */
  base: readonly ConfigLayer[];
  /** Every agent with a file: its view after the change. */
  agentViews: Map<string, Config>;
  /** The changes to agents' views where they differ from the node's (before or after). */
  agentChanges: ConfigChange[];
}

/** One applied change, values redacted. */
export interface ConfigChange {
  key: string;
  old: unknown;
  new: unknown;
  /** The agent whose view changed (`kPlanner:main`); absent for a node-wide change. */
  agent?: string;
}

/** What an agent's file sets (`GET /api/config?agent=`). */
export interface AgentOverrides {
  /** The file, or null when the agent has none (its view is the node's). */
  source: string | null;
  keys: string[];
}

export interface LayeredConfigDeps {
  /** The layers the node started with, lowest first (load-config.ts `readConfigLayers`). */
  layers: readonly ConfigLayer[];
  /** The node's configuration object, shared by every part: changed in place. */
  config: Config;
  /** Appliers of the live settings by dotted key; a change under any other key needs a restart. */
  live: Readonly<Record<string, (value: unknown) => void>>;
  /** The layers below the runtime one read again from their sources (file reloads); absent: no reload. */
  reread?: () => ConfigLayer[];
  /** Told of every applied change (audit, CONFIG_UPDATE). */
  onChanged?: (changes: readonly ConfigChange[], by: string) => void;
}

/** A ConfigError as the API's answer: a lock is 409 `config_locked`, anything else 400 `validation_failed` naming keys. */
function asApiError(error: unknown): unknown {
  if (!(error instanceof ConfigError)) return error;
  // The lock was checked per key before; here a value sets an object that holds a locked key.
  const locked = error.problems.find((problem) => problem.message.startsWith("locked by"));
  if (locked) return new ApiError("config_locked", `${locked.key} is ${locked.message}; nothing was changed`);
  return new ApiError("validation_failed", "the change makes the configuration invalid; nothing was changed", error.problems.map((problem) => ({ path: problem.key, message: problem.message })));
}

export class LayeredConfig {
  private layers: ConfigLayer[];
  /** Agents' views resolved so far (only agents with a file), until the layers change. */
  private agentViews = new Map<string, Config>();

  constructor(private readonly deps: LayeredConfigDeps) {
    this.layers = [...deps.layers];
  }

  /** A configuration with no layers but its own values (a node built without load-config: tests, embedding). */
  static fixed(config: Config): LayeredConfig {
    return new LayeredConfig({ layers: [{ name: "cli", source: "built-in", values: cloneSettings(config) as unknown as Settings, locked: [], fromEnv: {} }], config, live: {} });
  }

  private isLive(key: string): boolean {
    return Object.keys(this.deps.live).some((live) => overlaps(splitKey(live), splitKey(key)) && splitKey(key).length >= splitKey(live).length);
  }

  /**
   * The effective configuration of one agent (`kClass:name`): the node's layers with its overrides file below the
   * runtime layer. Without a file, the node's own object (live changes reach it in place); with one, a view resolved
   * once and kept until the layers change. Read it at use time, not once.
   */
  forAgent(agent: string): Config {
    const cached = this.agentViews.get(agent);
    if (cached) return cached;
    if (!this.layers.some((layer) => layer.agent === agent)) return this.deps.config;
    const view = this.resolveAgent(this.layers, agent);
    this.agentViews.set(agent, view);
    return view;
  }

  /**
   * Whether the agent's file sets `key` (a lookup in its values; kCore asks it per step, so no walk of the file's
   * keys as `agentOverrides` makes for the API).
   */
  agentFileSets(agent: string, key: string): boolean {
    const layer = this.layers.find((one) => one.agent === agent);
    return layer !== undefined && getAt(layer.values, splitKey(key)) !== undefined;
  }

  /** The agent's file and the keys it sets. */
  agentOverrides(agent: string): AgentOverrides {
    const layer = this.layers.find((one) => one.agent === agent);
    return layer ? { source: layer.source, keys: agentLayerKeys(layer.values) } : { source: null, keys: [] };
  }

  private resolveAgent(layers: readonly ConfigLayer[], agent: string): Config {
    const view = resolveLayers(layers, agent);
    // dataDir was made absolute at start: the agent sees the node's.
    view.dataDir = this.deps.config.dataDir;
    return view;
  }

  /** Where `key`'s value comes from, node-wide or (with `agent`) in that agent's view. */
  explain(key: string, agent?: string): ConfigExplainResponse {
    const path = splitKey(key);
    const layers = agent === undefined ? nodeLayers(this.layers) : agentViewLayers(this.layers, agent);
    const config = agent === undefined ? this.deps.config : this.forAgent(agent);
    const value = getAt(config, path);
    const parent = getAt(config, path.slice(0, -1));
    const known = value !== undefined || (path.length === 1 ? false : typeof parent === "object" && parent !== null && !Array.isArray(parent)) || layers.some((layer) => getAt(layer.values, path) !== undefined);
    if (!known) throw new ApiError("not_found", `no setting ${key}`);
    const lock = lockOf(layers, path);
    return {
      key,
      ...(agent !== undefined ? { agent } : {}),
      ...(value !== undefined ? { value: redactAt(key, value) } : {}),
      winner: winnerOf(layers, path)?.name ?? "defaults",
      locked: lock ? { layer: lock.layer.name, source: lock.layer.source, key: lock.key } : null,
      live: this.isLive(key),
      layers: layers.map((layer) => {
        const here = getAt(layer.values, path);
        const env = layer.fromEnv[key];
        return {
          layer: layer.name,
          source: layer.source,
          set: setsKey(layer, path),
          ...(here !== undefined ? { value: redactAt(key, here) } : {}),
          ...(env !== undefined ? { env } : {}),
        };
      }),
    };
  }

  /** Sets (or, with `null`, removes) runtime-layer values by dotted key, all or nothing. */
  change(settings: Readonly<Record<string, unknown>>, by: string): ConfigPatchResponse {
    return this.commit(this.plan(settings), by);
  }

  /** The runtime layer's values (what `PATCH /api/config` set and kept), for storing them. */
  runtimeValues(): Settings {
    const runtime = this.layers.find((layer) => layer.name === "runtime");
    return cloneSettings(runtime ? runtime.values : {});
  }

  /**
   * Replaces the whole runtime layer with `values` (stored by this node, or changed on another instance) and applies
   * it like a change: all or nothing, live settings only.
   */
  restoreRuntime(values: Settings, by: string): ConfigPatchResponse {
    let layers: ConfigLayer[];
    try {
      layers = [...this.layers.filter((one) => one.name !== "runtime"), makeLayer("runtime", "API", cloneSettings(values), {})];
    } catch (error) {
      throw asApiError(error);
    }
    return this.commit(this.check(layers), by);
  }

  /**
   * What `settings` would change, checked (locks, validation, live-only) but not applied: `commit` applies it. Lets a
   * caller store the new runtime layer first, so a change is applied only once it is kept.
   */
  plan(settings: Readonly<Record<string, unknown>>): ConfigPlan {
    const runtimeIndex = this.layers.findIndex((layer) => layer.name === "runtime");
    const runtime = cloneSettings(runtimeIndex >= 0 ? (this.layers[runtimeIndex] as ConfigLayer).values : {});
    for (const [key, value] of Object.entries(settings)) {
      const path = splitKey(key);
      if (value !== null) {
        const lock = lockOf(this.layers, path);
        if (lock) throw new ApiError("config_locked", `${key} is locked by the ${lock.layer.name} layer (${lock.layer.source}, key ${lock.key}); nothing was changed`);
      }
      if (value === null) unsetAt(runtime, path);
      else setAt(runtime, path, value);
    }
    let layers: ConfigLayer[];
    try {
      // The runtime layer's values are the API's own: no `@env:` references are read from them.
      layers = [...this.layers.filter((one) => one.name !== "runtime"), makeLayer("runtime", "API", runtime, {})];
    } catch (error) {
      throw asApiError(error);
    }
    return { ...this.check(layers), runtime };
  }

  /**
   * Reads the files again (`deps.reread`) under the current runtime layer and applies the result like a runtime
   * change: all or nothing. Throws ConfigError for an invalid file and ApiError `config_restart_required` for a
   * change that needs a restart; either way the running configuration stays the last good one.
   */
  reload(): ConfigPatchResponse {
    if (!this.deps.reread) return { changed: [] };
    const runtime = this.layers.filter((one) => one.name === "runtime");
    const layers = [...this.deps.reread(), ...runtime];
    return this.commit(this.check(layers, false), "file");
  }

  /** Resolves `layers` and checks that everything they change may change live; nothing is touched. */
  private check(layers: ConfigLayer[], apiErrors = true): ConfigPlan {
    let next: Config;
    try {
      next = resolveLayers(layers);
    } catch (error) {
      throw apiErrors ? asApiError(error) : error;
    }
    // dataDir was made absolute at start: compare what the node runs with, in that form.
    if (resolve(next.dataDir) === this.deps.config.dataDir) next.dataDir = this.deps.config.dataDir;
    const changed = changedKeys(this.deps.config, next);
    const restart = changed.filter((key) => !this.isLive(key));
    if (restart.length > 0) {
      throw new ApiError("config_restart_required", `only applied at a restart: ${restart.join(", ")}; nothing was changed (live settings: ${Object.keys(this.deps.live).join(", ") || "none"})`, restart.map((key) => ({ path: key, message: "needs a restart" })));
    }
    const runtime = layers.find((layer) => layer.name === "runtime");
    const { agentViews, agentChanges } = this.checkAgents(layers, next, apiErrors);
    return { layers, next, changed, runtime: cloneSettings(runtime ? runtime.values : {}), base: this.layers, agentViews, agentChanges };
  }

  /**
   * Every agent's view under `layers` (resolved, so a change that breaks one is refused), and what changed in the
   * views where they differ from the node's view before or after (the rest is the node-wide change, told once).
   */
  private checkAgents(layers: readonly ConfigLayer[], next: Config, apiErrors: boolean): { agentViews: Map<string, Config>; agentChanges: ConfigChange[] } {
    const agentViews = new Map<string, Config>();
    for (const layer of layers) {
      if (layer.agent === undefined) continue;
      try {
        agentViews.set(layer.agent, this.resolveAgent(layers, layer.agent));
      } catch (error) {
        throw apiErrors ? asApiError(error) : error;
      }
    }
    const agentChanges: ConfigChange[] = [];
    const agents = new Set([...agentViews.keys(), ...this.layers.flatMap((layer) => (layer.agent !== undefined ? [layer.agent] : []))]);
    for (const agent of [...agents].sort()) {
      const before = this.forAgent(agent);
      const after = agentViews.get(agent) ?? next;
      for (const key of changedKeys(before, after)) {
        const path = splitKey(key);
        const own = !sameValue(getAt(before, path), getAt(this.deps.config, path)) || !sameValue(getAt(after, path), getAt(next, path));
        if (own) agentChanges.push({ key, old: redactAt(key, getAt(before, path)), new: redactAt(key, getAt(after, path)), agent });
      }
    }
    return { agentViews, agentChanges };
  }

  /** Applies a plan: the shared Config updated in place, live appliers run, `onChanged` told. Refused when the layers changed since the plan. */
  commit(plan: ConfigPlan, by: string): ConfigPatchResponse {
    if (plan.base !== this.layers) throw new ApiError("conflict", "the configuration changed meanwhile; nothing was changed: try again");
    const { layers, next, changed } = plan;
    const changes: ConfigChange[] = changed.map((key) => ({ key, old: redactAt(key, getAt(this.deps.config, splitKey(key))), new: redactAt(key, getAt(next, splitKey(key))) }));
    changes.push(...plan.agentChanges);
    this.layers = layers;
    this.agentViews = plan.agentViews;
    for (const key of changed) setAt(this.deps.config as unknown as Settings, splitKey(key), getAt(next, splitKey(key)));
    for (const [live, apply] of Object.entries(this.deps.live)) {
      if (changed.some((key) => overlaps(splitKey(live), splitKey(key)))) apply(getAt(this.deps.config, splitKey(live)));
    }
    if (changes.length > 0) this.deps.onChanged?.(changes, by);
    return { changed: changes };
  }
}
