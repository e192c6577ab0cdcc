/**
 * @module config/layers/read-layer
 * Turns one source into a layer: reads and parses a YAML file, takes out its `@locked` list and reads its
 * `@env:NAME` references from the environment.
 *
 * - `@locked: [logging.level, rateLimit]` (a top-level list of dotted keys) in a system or policy file: no later
 *   layer may set those keys or anything under them. Anywhere else `@locked` is an error, not ignored.
 * - A string value `"@env:NAME"` is replaced by the variable's value; a missing variable is an error naming the key
 *   and the variable. The value is a string; where the schema wants a number or a boolean, a numeric or
 *   `true`/`false` value is converted (validate-layer.ts), so `port: "@env:PORT"` works.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "./config-error.js";
import { FORBIDDEN_NAMES, isPlainObject, KEY_PATTERN, type Settings } from "./key-paths.js";
import { LOCKING_LAYERS, type ConfigLayer, type LayerName } from "./layer-model.js";

const LOCKED = "@locked";
const ENV_REF = /^@env:([A-Za-z_][A-Za-z0-9_]*)$/;

/** Reads a YAML file into a layer (errors name the file). */
export function readFileLayer(name: LayerName, file: string, env: NodeJS.ProcessEnv): ConfigLayer {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`, [{ layer: name, source: file, key: "", message: "cannot be read" }]);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(error as Error).message}`, [{ layer: name, source: file, key: "", message: "not valid YAML" }]);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`config file ${file} must hold a mapping`, [{ layer: name, source: file, key: "", message: "must hold a mapping" }]);
  return makeLayer(name, file, parsed, env);
}

/** Builds a layer from settings already in hand (defaults, environment, flags, the API's runtime layer). */
export function makeLayer(name: LayerName, source: string, raw: Settings, env: NodeJS.ProcessEnv): ConfigLayer {
  const { [LOCKED]: lockList, ...rest } = raw;
  const locked = lockList === undefined ? [] : readLocks(name, source, lockList);
  const fromEnv: Record<string, string> = {};
  const values = resolveEnvRefs(rest, env, [], fromEnv, name, source) as Settings;
  return { name, source, values, locked, fromEnv };
}

function readLocks(name: LayerName, source: string, list: unknown): string[] {
  const fail = (message: string) => new ConfigError(`${name} layer (${source}): ${LOCKED}: ${message}`, [{ layer: name, source, key: LOCKED, message }]);
  if (!LOCKING_LAYERS.has(name)) throw fail(`only the system and policy files may lock keys, not the ${name} layer`);
  if (!Array.isArray(list) || !list.every((key): key is string => typeof key === "string" && KEY_PATTERN.test(key))) {
    throw fail("must be a list of dotted keys (logging.level, rateLimit.read)");
  }
  return list;
}

function resolveEnvRefs(value: unknown, env: NodeJS.ProcessEnv, path: string[], fromEnv: Record<string, string>, name: LayerName, source: string): unknown {
  if (typeof value === "string") {
    const match = ENV_REF.exec(value);
    if (!match) return value;
    const variable = match[1] as string;
    const read = env[variable];
    const key = path.join(".");
    if (read === undefined) {
      const message = `environment variable ${variable} is not set`;
      throw new ConfigError(`${name} layer (${source}): ${key}: ${message}`, [{ layer: name, source, key, message }]);
    }
    fromEnv[key] = variable;
    return read;
  }
  if (Array.isArray(value)) return value.map((item, index) => resolveEnvRefs(item, env, [...path, String(index)], fromEnv, name, source));
  if (isPlainObject(value)) {
    const out: Settings = {};
    for (const [key, item] of Object.entries(value)) {
      if (FORBIDDEN_NAMES.has(key)) {
        const message = "not a setting name";
        throw new ConfigError(`${name} layer (${source}): ${[...path, key].join(".")}: ${message}`, [{ layer: name, source, key: [...path, key].join("."), message }]);
      }
      if (key === LOCKED) {
        const message = `${LOCKED} belongs at the top of a system or policy file`;
        throw new ConfigError(`${name} layer (${source}): ${[...path, key].join(".")}: ${message}`, [{ layer: name, source, key: [...path, key].join("."), message }]);
      }
      out[key] = resolveEnvRefs(item, env, [...path, key], fromEnv, name, source);
    }
    return out;
  }
  return value;
}
