/**
 * @module config/layers/resolve-layers
 * From layers to one configuration: each layer validated on its own (so an error names the file and key that
 * caused it), locks checked (a later layer setting a locked key is refused, naming the lock's layer and file),
 * layers merged in order (objects deeply, arrays and scalars replaced), and the result validated as a whole (the
 * rules between settings, such as `storage.kind postgres` needing a URL, can only be checked there).
 */
import type { z } from "zod";
import { ConfigSchema, type Config } from "../config-schema.js";
import { ConfigError, type ConfigProblem } from "./config-error.js";
import { getAt, isPlainObject, overlaps, setAt, splitKey, type Settings } from "./key-paths.js";
import { agentViewLayers, nodeLayers, type ConfigLayer } from "./layer-model.js";
import { knownKeysAt, likelyKey } from "./known-keys.js";

/** Deep merge where `b` wins; arrays and scalars are replaced, `undefined` values are ignored. */
export function mergeSettings(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Settings = { ...a };
    for (const [key, value] of Object.entries(b)) out[key] = mergeSettings(a[key], value);
    return out;
  }
  return b;
}

function describe(layer: ConfigLayer): string {
  return `${layer.name} layer${layer.agent !== undefined ? ` of ${layer.agent}` : ""} (${layer.source})`;
}

/** Problems of one zod issue list, each tied to the key that a layer actually set (others are another layer's). */
function problemsOf(issues: readonly z.core.$ZodIssue[], layer: ConfigLayer): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    // Rules between settings are checked on the merged result, where every layer has had its say.
    if (issue.code === "custom") continue;
    const path = issue.path.map(String);
    if (getAt(layer.values, path) === undefined) continue;
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(ConfigSchema, path) ?? [];
      for (const key of issue.keys) {
        const likely = likelyKey(key, known);
        const message = likely === undefined ? "unknown setting" : `unknown setting (did you mean ${[...path, likely].join(".")}?)`;
        out.push({ layer: layer.name, source: layer.source, key: [...path, key].join("."), message });
      }
    } else {
      out.push({ layer: layer.name, source: layer.source, key: path.join("."), message: issue.message + booleanHint(issue, getAt(layer.values, path), FILE_LAYERS.has(layer.name)) });
    }
  }
  return out;
}

/** Words YAML 1.1 read as booleans, which YAML 1.2 (the node's config files) reads as text. */
const YAML_11_BOOLEANS = /^(y|yes|n|no|on|off)$/i;
/** The layers read from YAML files. */
const FILE_LAYERS = new Set<string>(["system", "policy", "user", "agent"]);

/**
 * `enabled: yes` in a config file is the string "yes" under YAML 1.2, which the files are read with (ADR 0017): the
 * schema's "expected boolean, received string" left the operator to guess why. Said, with what to write.
 */
function booleanHint(issue: z.core.$ZodIssue, value: unknown, fromFile: boolean): string {
  if (issue.code !== "invalid_type" || issue.expected !== "boolean" || typeof value !== "string") return "";
  return fromFile && YAML_11_BOOLEANS.test(value.trim()) ? ` (write true or false: "${value}" is text in YAML 1.2)` : " (write true or false)";
}

/** `@env:` values are strings; where the schema wants a number or boolean, a value that reads as one becomes one. */
function coerceEnvValues(issues: readonly z.core.$ZodIssue[], layer: ConfigLayer): boolean {
  let changed = false;
  for (const issue of issues) {
    if (issue.code !== "invalid_type") continue;
    const key = issue.path.map(String).join(".");
    if (layer.fromEnv[key] === undefined) continue;
    const value = getAt(layer.values, splitKey(key));
    if (typeof value !== "string") continue;
    let next: unknown;
    if ((issue.expected === "number" || issue.expected === "int") && value.trim() !== "" && Number.isFinite(Number(value))) next = Number(value);
    else if (issue.expected === "boolean" && (value === "true" || value === "false")) next = value === "true";
    if (next === undefined) continue;
    setAt(layer.values, splitKey(key), next);
    changed = true;
  }
  return changed;
}

/** Validates one layer against the config schema; refused keys are named with the layer and its source. */
export function validateLayer(layer: ConfigLayer): void {
  let parsed = ConfigSchema.safeParse(layer.values);
  if (!parsed.success && coerceEnvValues(parsed.error.issues, layer)) parsed = ConfigSchema.safeParse(layer.values);
  if (parsed.success) return;
  const problems = problemsOf(parsed.error.issues, layer);
  if (problems.length === 0) return;
  throw new ConfigError(`invalid configuration in the ${describe(layer)}:\n${problems.map((p) => `  ${p.key}: ${p.message}`).join("\n")}`, problems);
}

/** The lock (and its layer) that covers `key`, among the layers before index `before`. */
export function lockOf(layers: readonly ConfigLayer[], key: readonly string[], before = layers.length): { layer: ConfigLayer; key: string } | undefined {
  for (const layer of layers.slice(0, before)) {
    for (const locked of layer.locked) if (overlaps(splitKey(locked), key)) return { layer, key: locked };
  }
  return undefined;
}

/** Refuses any layer that sets a key locked by an earlier one. */
export function checkLocks(layers: readonly ConfigLayer[]): void {
  const problems: ConfigProblem[] = [];
  const lines: string[] = [];
  layers.forEach((layer, index) => {
    for (const earlier of layers.slice(0, index)) {
      for (const locked of earlier.locked) {
        if (getAt(layer.values, splitKey(locked)) === undefined) continue;
        const message = `locked by the ${describe(earlier)}`;
        problems.push({ layer: layer.name, source: layer.source, key: locked, message });
        lines.push(`  ${locked}: set by the ${describe(layer)}, but ${message}`);
      }
    }
  });
  if (problems.length > 0) throw new ConfigError(`configuration refused: a locked key is set again:\n${lines.join("\n")}`, problems);
}

/** Whether `layer` sets `key`: the key itself (an object counts when it holds anything), or a value above it that is not an object. */
export function setsKey(layer: ConfigLayer, key: readonly string[]): boolean {
  if (getAt(layer.values, key) !== undefined) return true;
  for (let n = key.length - 1; n >= 1; n--) {
    const above = getAt(layer.values, key.slice(0, n));
    if (above !== undefined) return !isPlainObject(above);
  }
  return false;
}

/** The highest layer that sets `key`. */
export function winnerOf(layers: readonly ConfigLayer[], key: readonly string[]): ConfigLayer | undefined {
  for (let i = layers.length - 1; i >= 0; i--) if (setsKey(layers[i] as ConfigLayer, key)) return layers[i];
  return undefined;
}

/**
 * For a rule between settings (`server.tls needs certFile and keyFile together`) reported at a key no layer set (the
 * missing `keyFile`): the highest layer that set anything in the same section (`--tls-cert` on the command line), so
 * the message names where to look instead of "default".
 */
function sectionSetter(layers: readonly ConfigLayer[], key: readonly string[]): ConfigLayer | undefined {
  if (key.length < 2) return undefined;
  const section = key.slice(0, -1);
  for (let i = layers.length - 1; i >= 0; i--) {
    const values = getAt(layers[i]!.values, section);
    if (isPlainObject(values) && Object.keys(values).length > 0) return layers[i];
  }
  return undefined;
}

/**
 * The configuration the layers make, lowest first: the node-wide view, or with `agent` that agent's view (its file's
 * layer kept, every other agent's left out). `layers[0]` may be the defaults layer: it is only read by `explain`, the
 * schema's own defaults do the same job in the merge.
 */
export function resolveLayers(all: readonly ConfigLayer[], agent?: string): Config {
  const layers = agent === undefined ? nodeLayers(all) : agentViewLayers(all, agent);
  for (const layer of layers) if (layer.name !== "defaults") validateLayer(layer);
  checkLocks(layers);
  let merged: unknown = {};
  for (const layer of layers) if (layer.name !== "defaults") merged = mergeSettings(merged, layer.values);
  const parsed = ConfigSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const setting = layers.filter((layer) => layer.name !== "defaults");
  const problems: ConfigProblem[] = parsed.error.issues.map((issue) => {
    const key = issue.path.map(String);
    const winner = winnerOf(setting, key) ?? (issue.code === "custom" ? sectionSetter(setting, key) : undefined);
    return { layer: winner?.name ?? "defaults", source: winner?.source ?? "built-in", key: key.join("."), message: issue.message };
  });
  throw new ConfigError(`invalid configuration:\n${problems.map((p) => `  ${p.key}: ${p.message} (${p.layer === "defaults" ? "default" : `from the ${p.layer} layer, ${p.source}`})`).join("\n")}`, problems);
}
