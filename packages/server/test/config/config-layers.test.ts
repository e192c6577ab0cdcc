/**
 * Configuration layers (issue 18) on the parts: the order (defaults < system < policy < user < env < flags <
 * runtime), deep merge with arrays replaced, `@locked` in system and policy files refused when a later layer sets
 * the key (naming the layer and file of the lock), `@env:NAME` references (converted where the schema wants a
 * number; a missing variable names key and variable), every layer validated with errors naming file and key, and
 * the runtime layer: explain, a live change applied, a restart-only change refused with nothing applied.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, loadConfigLayers, type ConfigSources } from "../../src/config/load-config.js";
import { LayeredConfig, type ConfigChange } from "../../src/config/layers/layered-config.js";
import { ApiError } from "../../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "kai-layers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function yamlFile(text: string): string {
  const file = join(dir, `layer-${counter++}.yaml`);
  writeFileSync(file, text);
  return file;
}

function configError(sources: ConfigSources): ConfigError {
  try {
    loadConfig(sources);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

function apiError(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("expected an ApiError");
}

describe("configuration layers: order and merge", () => {
  it("a later layer wins key by key; objects merge deeply and arrays are replaced whole", () => {
    const systemFile = yamlFile("gateway:\n  retries: 2\n  retryOn: [upstream_timeout, upstream_unreachable]\n  backoff: { initialMs: 50 }\nregistry:\n  sweepIntervalMs: 400\n");
    const policyFile = yamlFile("gateway:\n  retries: 3\n");
    const configFile = yamlFile("gateway:\n  retryOn: [upstream_timeout]\n  backoff: { maxMs: 900 }\nserver:\n  port: 8100\n");
    const config = loadConfig({ systemFile, policyFile, configFile, env: { KAI_PORT: "8200" }, overrides: { registry: { sweepIntervalMs: 300 } } });
    expect(config.gateway.retries).toBe(3); // policy over system
    expect(config.gateway.retryOn).toEqual(["upstream_timeout"]); // user's array replaced the system's, not appended
    expect(config.gateway.backoff).toEqual({ initialMs: 50, maxMs: 900 }); // objects merged
    expect(config.server.port).toBe(8200); // env over the files
    expect(config.registry.sweepIntervalMs).toBe(300); // flags over the system file
  });

  it("the system and policy files come from KAI_SYSTEM_CONFIG and KAI_POLICY_CONFIG", () => {
    const system = yamlFile("gateway:\n  retries: 4\n");
    const policy = yamlFile("gateway:\n  deadlineMs: 9000\n");
    const config = loadConfig({ env: { KAI_SYSTEM_CONFIG: system, KAI_POLICY_CONFIG: policy } });
    expect(config.gateway).toMatchObject({ retries: 4, deadlineMs: 9000 });
  });
});

describe("configuration layers: @locked", () => {
  it("a key locked in the system file cannot be set by the user file: refused, naming both layers and files", () => {
    const systemFile = yamlFile("'@locked': [gateway.retries, rateLimit]\ngateway:\n  retries: 1\n");
    const configFile = yamlFile("gateway:\n  retries: 5\n");
    const error = configError({ systemFile, configFile, env: {} });
    expect(error.message).toContain("gateway.retries");
    expect(error.message).toContain(`system layer (${systemFile})`);
    expect(error.message).toContain(`user layer (${configFile})`);
    expect(error.problems).toContainEqual(expect.objectContaining({ layer: "user", source: configFile, key: "gateway.retries" }));
  });

  it("a lock covers everything under the key, and holds against the environment and flags too", () => {
    const systemFile = yamlFile("'@locked': [rateLimit, server.port]\n");
    expect(configError({ systemFile, env: {}, overrides: { rateLimit: { read: { max: 5 } } } }).message).toMatch(/rateLimit[\s\S]*cli layer \(command line\)/);
    expect(configError({ systemFile, env: { KAI_PORT: "9000" } }).message).toMatch(/server\.port[\s\S]*env layer/);
    // Keys beside the locked ones stay free.
    expect(loadConfig({ systemFile, env: {}, overrides: { gateway: { retries: 2 } } }).gateway.retries).toBe(2);
  });

  it("the policy file may lock too, and may not set what the system file locked", () => {
    const systemFile = yamlFile("'@locked': [gateway.retries]\n");
    const policyFile = yamlFile("gateway:\n  retries: 0\n");
    expect(configError({ systemFile, policyFile, env: {} }).message).toContain(`policy layer (${policyFile})`);
    const locking = yamlFile("'@locked': [gateway.deadlineMs]\ngateway:\n  deadlineMs: 5000\n");
    expect(configError({ policyFile: locking, configFile: yamlFile("gateway:\n  deadlineMs: 6000\n"), env: {} }).message).toContain(`locked by the policy layer (${locking})`);
  });

  it("only system and policy files may lock, with a list of dotted keys", () => {
    const userLock = yamlFile("'@locked': [gateway.retries]\n");
    expect(configError({ configFile: userLock, env: {} }).message).toContain("only the system and policy files may lock keys");
    expect(configError({ systemFile: yamlFile("'@locked': gateway.retries\n"), env: {} }).message).toContain("@locked");
    expect(configError({ systemFile: yamlFile("gateway:\n  '@locked': [retries]\n"), env: {} }).message).toContain("gateway.@locked");
  });
});

describe("configuration layers: @env:NAME", () => {
  it("reads a value from the environment, converting it where the schema wants a number or a boolean", () => {
    const configFile = yamlFile("server:\n  port: '@env:APP_PORT'\nstorage:\n  postgres:\n    url: '@env:APP_DB'\nrateLimit:\n  enabled: '@env:APP_LIMITS'\n");
    const { config, layers } = loadConfigLayers({ configFile, env: { APP_PORT: "8300", APP_DB: "postgres://kai:pw@db/kai", APP_LIMITS: "false" } });
    expect(config.server.port).toBe(8300);
    expect(config.storage.postgres.url).toBe("postgres://kai:pw@db/kai");
    expect(config.rateLimit.enabled).toBe(false);
    expect(layers.find((layer) => layer.name === "user")?.fromEnv).toEqual({ "server.port": "APP_PORT", "storage.postgres.url": "APP_DB", "rateLimit.enabled": "APP_LIMITS" });
  });

  it("a missing variable is an error naming the key and the variable", () => {
    const configFile = yamlFile("storage:\n  postgres:\n    url: '@env:NOT_SET_ANYWHERE'\n");
    const error = configError({ configFile, env: {} });
    expect(error.message).toContain("storage.postgres.url");
    expect(error.message).toContain("NOT_SET_ANYWHERE");
    expect(error.message).toContain(configFile);
  });

  it("a value that does not fit stays an error naming the file and key", () => {
    const configFile = yamlFile("server:\n  port: '@env:APP_PORT'\n");
    expect(configError({ configFile, env: { APP_PORT: "eighty" } }).message).toMatch(new RegExp(`user layer \\(${configFile}\\)[\\s\\S]*server\\.port`));
  });
});

describe("configuration layers: every layer validated", () => {
  it("a bad value or unknown key in one file is named with that file, not the merge", () => {
    const systemFile = yamlFile("gateway:\n  retries: 2\n");
    const configFile = yamlFile("gateway:\n  retriez: 2\n");
    const error = configError({ systemFile, configFile, env: {} });
    expect(error.message).toContain(`user layer (${configFile})`);
    expect(error.message).toContain("gateway.retriez");
    expect(configError({ configFile: yamlFile("gateway:\n  retryOn: [timeout]\n"), env: {} }).message).toMatch(/user layer[\s\S]*gateway\.retryOn\.0/);
    const bad = yamlFile("gateway:\n  retries: many\n");
    expect(configError({ systemFile: bad, env: {} }).message).toMatch(new RegExp(`system layer \\(${bad}\\)[\\s\\S]*gateway\\.retries`));
  });

  it("rules between settings are checked on the merge, naming the layer that set the key", () => {
    const systemFile = yamlFile("storage:\n  kind: postgres\n");
    const error = configError({ systemFile, env: {} });
    expect(error.message).toContain("storage.postgres.url");
    // A URL from a later layer completes it.
    expect(loadConfig({ systemFile, configFile: yamlFile("storage:\n  postgres:\n    url: postgres://db/kai\n"), env: {} }).storage.kind).toBe("postgres");
  });
});

describe("configuration layers: explain and the runtime layer", () => {
  function layered(sources: ConfigSources, changes: Array<{ changes: readonly ConfigChange[]; by: string }> = [], applied: unknown[] = []) {
    const { config, layers } = loadConfigLayers(sources);
    return { config, layered: new LayeredConfig({ layers, config, live: { "logging.level": (level) => applied.push(level) }, onChanged: (list, by) => changes.push({ changes: list, by }) }) };
  }

  it("explain shows every layer's value, the winner, the lock and whether it is live, secrets redacted", () => {
    const systemFile = yamlFile("'@locked': [gateway.retries]\ngateway:\n  retries: 2\n");
    const configFile = yamlFile("storage:\n  postgres:\n    url: '@env:DB_URL'\nlogging:\n  level: warn\n");
    const { layered: config } = layered({ systemFile, configFile, env: { DB_URL: "postgres://kai:hunter2@db/kai" } });
    const retries = config.explain("gateway.retries");
    expect(retries).toMatchObject({ key: "gateway.retries", value: 2, winner: "system", locked: { layer: "system", source: systemFile, key: "gateway.retries" }, live: false });
    expect(retries.layers.map((layer) => [layer.layer, layer.set, layer.value])).toEqual([
      ["defaults", true, 1], ["system", true, 2], ["user", false, undefined], ["env", false, undefined], ["cli", false, undefined],
    ]);
    const level = config.explain("logging.level");
    expect(level).toMatchObject({ value: "warn", winner: "user", locked: null, live: true });
    const url = config.explain("storage.postgres.url");
    expect(JSON.stringify(url)).not.toContain("hunter2");
    expect(url.layers.find((layer) => layer.layer === "user")).toMatchObject({ set: true, env: "DB_URL" });
    expect(apiError(() => config.explain("gateway.nothing.here")).code).toBe("not_found");
  });

  it("a live setting changes at once and is reported; the runtime layer then wins in explain", () => {
    const changes: Array<{ changes: readonly ConfigChange[]; by: string }> = [];
    const applied: unknown[] = [];
    const { config, layered: live } = layered({ env: {} }, changes, applied);
    expect(live.change({ "logging.level": "debug" }, "alice")).toEqual({ changed: [{ key: "logging.level", old: "info", new: "debug" }] });
    expect(config.logging.level).toBe("debug");
    expect(applied).toEqual(["debug"]);
    expect(changes).toEqual([{ changes: [{ key: "logging.level", old: "info", new: "debug" }], by: "alice" }]);
    expect(live.explain("logging.level")).toMatchObject({ winner: "runtime", value: "debug" });
    // Removing it from the runtime layer gives back the lower layers' value.
    expect(live.change({ "logging.level": null }, "alice").changed).toEqual([{ key: "logging.level", old: "debug", new: "info" }]);
    expect(live.explain("logging.level").winner).toBe("defaults");
    // The same value again changes nothing and reports nothing.
    expect(live.change({ "logging.level": "info" }, "alice").changed).toEqual([]);
    expect(changes).toHaveLength(2);
  });

  it("a change that needs a restart is refused naming the keys, and nothing of the batch is applied", () => {
    const changes: unknown[] = [];
    const { config, layered: live } = layered({ env: {} }, changes as never);
    const error = apiError(() => live.change({ "logging.level": "debug", "rateLimit.read.max": 5, "gateway.retries": 3 }, "alice"));
    expect(error.code).toBe("config_restart_required");
    expect(error.message).toContain("rateLimit.read.max");
    expect(error.message).toContain("gateway.retries");
    expect(config.logging.level).toBe("info");
    expect(config.rateLimit.read.max).toBe(1200);
    expect(changes).toEqual([]);
    expect(live.explain("logging.level").winner).toBe("defaults");
  });

  it("a locked key is refused with its layer and file; an invalid value with the key; nothing applied", () => {
    const systemFile = yamlFile("'@locked': [logging]\n");
    const { config, layered: live } = layered({ systemFile, env: {} });
    const locked = apiError(() => live.change({ "logging.level": "debug" }, "alice"));
    expect(locked.code).toBe("config_locked");
    expect(locked.message).toContain(`system layer (${systemFile}`);
    const { layered: other } = layered({ env: {} });
    const invalid = apiError(() => other.change({ "logging.level": "loud" }, "alice"));
    expect(invalid.code).toBe("validation_failed");
    expect(invalid.details?.[0]?.path).toBe("logging.level");
    expect(apiError(() => other.change({ "logging.volume": 3 }, "alice")).code).toBe("validation_failed");
    expect(config.logging.level).toBe("info");
  });
});
