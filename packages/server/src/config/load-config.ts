/**
 * @module config/load-config
 * Builds the node's configuration from its layers (config/layers/layer-model.ts: defaults < system file < policy
 * file < user file < KAI_* environment < command line < runtime; each agent's overrides file below the runtime layer in
 * that agent's view only), validating each layer and the result, so that a typo in any source is an error at start
 * that names the file and key.
 */
import { dirname, join, resolve } from "node:path";
import { ConfigSchema, type Config, type ConfigInput } from "./config-schema.js";
import { ConfigError } from "./layers/config-error.js";
import { cloneSettings } from "./layers/key-paths.js";
import type { ConfigLayer } from "./layers/layer-model.js";
import { makeLayer, readFileLayer } from "./layers/read-layer.js";
import { readAgentLayers } from "./layers/agent-layers.js";
import { mergeSettings, resolveLayers } from "./layers/resolve-layers.js";

export { ConfigError, mergeSettings };

export interface ConfigSources {
  /** Path of the user config file (flag `--config` or KAI_CONFIG). */
  configFile?: string;
  /** Path of the system file (KAI_SYSTEM_CONFIG): the operator's, may lock keys. */
  systemFile?: string;
  /** Path of the organisation policy file (KAI_POLICY_CONFIG): may lock keys. */
  policyFile?: string;
  /** The agents' overrides folder (KAI_AGENT_CONFIG_DIR); default `agents/` beside the user file (config/layers/agent-layers.ts). */
  agentConfigDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Values given explicitly (command-line flags, tests): the `cli` layer, above the files and the environment. */
  overrides?: DeepPartial<ConfigInput>;
}

export type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/**
 * Every environment variable the server reads, with what it sets (deployment files may use only these;
 * test/install/deployment-files.test.ts checks). The CLI's own (KAI_URL, KAI_TOKEN, KAI_CONFIG_DIR) are in the CLI.
 */
export const SERVER_ENVIRONMENT: Readonly<Record<string, string>> = {
  KAI_CONFIG: "path of the user config file (layer user)",
  KAI_SYSTEM_CONFIG: "path of the system config file (layer system; may lock keys)",
  KAI_POLICY_CONFIG: "path of the organisation policy file (layer policy; may lock keys)",
  KAI_AGENT_CONFIG_DIR: "folder of the agents' overrides files, <kClass>.<name>.yaml (layer agent; default: agents/ beside the user file)",
  KAI_DATA_DIR: "dataDir",
  KAI_HOST: "server.host",
  KAI_PORT: "server.port",
  KAI_TLS_CERT_FILE: "server.tls.certFile (with KAI_TLS_KEY_FILE: the node serves HTTPS)",
  KAI_TLS_KEY_FILE: "server.tls.keyFile",
  KAI_LOG_LEVEL: "logging.level",
  KAI_STORAGE_KIND: "storage.kind",
  KAI_DATABASE_URL: "storage.postgres.url (and storage.kind postgres unless KAI_STORAGE_KIND says otherwise)",
  KAI_REDIS_URL: "cache.redis.url",
  KAI_NATS_URL: "bus.nats.url",
  KAI_INSTANCE_NAME: "cluster.instanceName",
  KAI_VAULT_PASSPHRASE: "unlocks (or, on first start, initialises) the vault at start",
  KAI_VAULT_KEY_DIR: "vault.keyDir",
};

function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const server: Record<string, unknown> = {};
  if (env.KAI_PORT !== undefined && env.KAI_PORT !== "") server.port = Number(env.KAI_PORT);
  if (env.KAI_HOST) server.host = env.KAI_HOST;
  // The certificate and key as a container platform mounts them; the client-certificate rules stay in the file.
  const tls: Record<string, unknown> = {};
  if (env.KAI_TLS_CERT_FILE) tls.certFile = env.KAI_TLS_CERT_FILE;
  if (env.KAI_TLS_KEY_FILE) tls.keyFile = env.KAI_TLS_KEY_FILE;
  if (Object.keys(tls).length) server.tls = tls;
  if (Object.keys(server).length) out.server = server;
  if (env.KAI_DATA_DIR) out.dataDir = env.KAI_DATA_DIR;
  if (env.KAI_LOG_LEVEL) out.logging = { level: env.KAI_LOG_LEVEL };
  // A database URL in the environment means PostgreSQL (the way container platforms hand it over), unless a kind is set too.
  if (env.KAI_DATABASE_URL) out.storage = { ...(env.KAI_STORAGE_KIND ? {} : { kind: "postgres" }), postgres: { url: env.KAI_DATABASE_URL } };
  if (env.KAI_STORAGE_KIND) out.storage = { ...((out.storage as object | undefined) ?? {}), kind: env.KAI_STORAGE_KIND };
  if (env.KAI_REDIS_URL) out.cache = { redis: { url: env.KAI_REDIS_URL } };
  if (env.KAI_NATS_URL) out.bus = { nats: { url: env.KAI_NATS_URL } };
  if (env.KAI_INSTANCE_NAME) out.cluster = { instanceName: env.KAI_INSTANCE_NAME };
  if (env.KAI_VAULT_KEY_DIR) out.vault = { keyDir: env.KAI_VAULT_KEY_DIR };
  return out;
}

/**
 * The agents' overrides folder: named (KAI_AGENT_CONFIG_DIR; it must then exist), else `agents/` beside the user file
 * (absent is fine: no agent has overrides), else none.
 */
export function agentConfigDirOf(sources: ConfigSources = {}): { dir: string; named: boolean } | undefined {
  const env = sources.env ?? process.env;
  const named = sources.agentConfigDir ?? env.KAI_AGENT_CONFIG_DIR;
  if (named) return { dir: resolve(named), named: true };
  const user = sources.configFile ?? env.KAI_CONFIG;
  return user ? { dir: join(dirname(resolve(user)), "agents"), named: false } : undefined;
}

/** The layers the sources make, lowest first (the defaults layer first; no runtime layer yet; the agents' files last). */
export function readConfigLayers(sources: ConfigSources = {}): ConfigLayer[] {
  const env = sources.env ?? process.env;
  const layers: ConfigLayer[] = [{ name: "defaults", source: "built-in", values: ConfigSchema.parse({}) as unknown as Record<string, unknown>, locked: [], fromEnv: {} }];
  const system = sources.systemFile ?? env.KAI_SYSTEM_CONFIG;
  if (system) layers.push(readFileLayer("system", system, env));
  const policy = sources.policyFile ?? env.KAI_POLICY_CONFIG;
  if (policy) layers.push(readFileLayer("policy", policy, env));
  const user = sources.configFile ?? env.KAI_CONFIG;
  if (user) layers.push(readFileLayer("user", user, env));
  layers.push(makeLayer("env", "KAI_* environment", envOverrides(env), {}));
  // Flags and test overrides carry `undefined` for what was not given: dropped, so they never count as set.
  layers.push(makeLayer("cli", "command line", cloneSettings(dropUndefined(sources.overrides ?? {})) as Record<string, unknown>, {}));
  const agents = agentConfigDirOf(sources);
  if (agents) layers.push(...readAgentLayers(agents.dir, env, agents.named));
  return layers;
}

function dropUndefined(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const kept = dropUndefined(item);
    // An object left empty said nothing (`server: {port: undefined}`): it must not count as setting `server`.
    if (kept === undefined || (typeof kept === "object" && kept !== null && !Array.isArray(kept) && Object.keys(kept).length === 0)) continue;
    out[key] = kept;
  }
  return out;
}

/** The configuration and the layers it was made of (server.ts keeps both: `explain` and runtime changes need the layers). */
export function loadConfigLayers(sources: ConfigSources = {}): { config: Config; layers: ConfigLayer[] } {
  const layers = readConfigLayers(sources);
  const config = resolveLayers(layers);
  // Each agent's view checked now too (a lock its file breaks, a merged value out of range): an error at start.
  for (const layer of layers) if (layer.agent !== undefined) resolveLayers(layers, layer.agent);
  return { config, layers };
}

export function loadConfig(sources: ConfigSources = {}): Config {
  return loadConfigLayers(sources).config;
}
