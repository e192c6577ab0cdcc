/**
 * @module config/load-config
 * Reads the YAML config file, applies KAI_* environment variables and explicit overrides, and
 * validates the result against `ConfigSchema`, so that a typo in any source is an error at start.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { fieldErrorsFromZod } from "@kai/protocol";
import { ConfigSchema, type Config, type ConfigInput } from "./config-schema.js";

export interface ConfigSources {
  /** Path of a YAML config file (flag `--config` or KAI_CONFIG). */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Values given explicitly (command-line flags, tests); they win over everything else. */
  overrides?: DeepPartial<ConfigInput>;
}

export type DeepPartial<T> = T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export class ConfigError extends Error {
  override name = "ConfigError";
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep merge where `b` wins; arrays and scalars are replaced, `undefined` values are ignored. */
export function mergeSettings(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (isPlainObject(a) && isPlainObject(b)) {
    const out: Record<string, unknown> = { ...a };
    for (const [key, value] of Object.entries(b)) out[key] = mergeSettings(a[key], value);
    return out;
  }
  return b;
}

/**
 * Every environment variable the server reads, with what it sets (deployment files may use only these;
 * test/install/deployment-files.test.ts checks). The CLI's own (KAI_URL, KAI_TOKEN, KAI_CONFIG_DIR) are in the CLI.
 */
export const SERVER_ENVIRONMENT: Readonly<Record<string, string>> = {
  KAI_CONFIG: "path of the YAML config file",
  KAI_DATA_DIR: "dataDir",
  KAI_HOST: "server.host",
  KAI_PORT: "server.port",
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

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const file = sources.configFile ?? env.KAI_CONFIG;
  let fromFile: unknown = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
    }
    try {
      fromFile = parseYaml(text) ?? {};
    } catch (error) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(error as Error).message}`);
    }
    if (!isPlainObject(fromFile)) throw new ConfigError(`config file ${file} must hold a mapping`);
  }
  const merged = mergeSettings(mergeSettings(fromFile, envOverrides(env)), sources.overrides ?? {});
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = fieldErrorsFromZod(parsed.error).map((issue) => `  ${issue.path}: ${issue.message}`);
    throw new ConfigError(`invalid configuration${file ? ` (${file})` : ""}:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
