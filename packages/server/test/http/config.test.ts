// loadConfig: defaults, then the YAML file, then KAI_* environment variables, then explicit overrides; and a
// clear ConfigError for an unknown key, invalid YAML, a missing file or a bad value.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load-config.js";

const dir = mkdtempSync(join(tmpdir(), "kai-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function yamlFile(text: string): string {
  const file = join(dir, `config-${counter++}.yaml`);
  writeFileSync(file, text);
  return file;
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("has the documented defaults", () => {
    const config = loadConfig({ env: {} });
    expect(config.server.port).toBe(7070);
    expect(config.server.host).toBe("127.0.0.1");
    expect(config.dataDir).toBe("./data");
    expect(config.storage).toEqual({
      kind: "sqlite",
      sqlite: { synchronous: "full", checkpointIntervalMs: 500, pageSize: 4096 },
      postgres: { poolSize: 10, statementTimeoutMs: 15_000, connectTimeoutMs: 5_000, tls: { mode: "disable" }, reservedConnections: 10 },
    });
    expect(config.cache).toEqual({ redis: { serviceTtlMs: 5_000, keyPrefix: "kai:" } });
    expect(config.cluster).toEqual({ expectedInstances: 4, heartbeatMs: 1_000, memberTimeoutMs: 5_000, pollIntervalMs: 2_000 });
    expect(config.rateLimit.enabled).toBe(true);
  });

  it("takes PostgreSQL from KAI_DATABASE_URL, and refuses postgres without a URL", () => {
    const config = loadConfig({ env: { KAI_DATABASE_URL: "postgres://kai@db:5432/kai", KAI_REDIS_URL: "redis://cache:6379/0", KAI_INSTANCE_NAME: "kai-7" } });
    expect(config.storage.kind).toBe("postgres");
    expect(config.storage.postgres.url).toBe("postgres://kai@db:5432/kai");
    expect(config.cache.redis.url).toBe("redis://cache:6379/0");
    expect(config.cluster.instanceName).toBe("kai-7");
    // An explicit kind wins over the URL's implication.
    expect(loadConfig({ env: { KAI_DATABASE_URL: "postgres://kai@db/kai", KAI_STORAGE_KIND: "sqlite" } }).storage.kind).toBe("sqlite");
    expect(configError(() => loadConfig({ env: { KAI_STORAGE_KIND: "postgres" } })).message).toContain("storage.postgres.url");
  });

  it("takes the TLS certificate and key from KAI_TLS_CERT_FILE and KAI_TLS_KEY_FILE, over the file's, and wants both", () => {
    const config = loadConfig({ env: { KAI_TLS_CERT_FILE: "/run/secrets/tls.crt", KAI_TLS_KEY_FILE: "/run/secrets/tls.key" } });
    expect(config.server.tls).toEqual({ certFile: "/run/secrets/tls.crt", keyFile: "/run/secrets/tls.key", clientCertificates: "off" });
    const half = configError(() => loadConfig({ env: { KAI_TLS_CERT_FILE: "/run/secrets/tls.crt" } }));
    expect(half.message).toContain("server.tls needs certFile and keyFile together");
    // Said where it came from: the variable that set half of the pair (the missing half was set by no layer).
    expect(half.problems).toEqual([expect.objectContaining({ key: "server.tls.keyFile", layer: "env" })]);
  });

  it("says what a trace endpoint must be", () => {
    const wrong = configError(() => loadConfig({ env: {}, overrides: { tracing: { enabled: true, otlpEndpoint: "ftp://collector/v1/traces" } } }));
    expect(wrong.problems).toEqual([expect.objectContaining({ key: "tracing.otlpEndpoint", message: "must be an http:// or https:// URL" })]);
  });

  it("reads the YAML file", () => {
    const file = yamlFile("server:\n  port: 8001\n  host: 0.0.0.0\ndataDir: /srv/kai\nrateLimit:\n  read: { max: 5, windowSeconds: 10 }\nstorage:\n  sqlite:\n    synchronous: normal\n");
    const config = loadConfig({ configFile: file, env: {} });
    expect(config.server).toMatchObject({ port: 8001, host: "0.0.0.0" });
    expect(config.dataDir).toBe("/srv/kai");
    expect(config.rateLimit.read).toEqual({ max: 5, windowSeconds: 10 });
    // Untouched siblings keep their defaults.
    expect(config.rateLimit.write.max).toBe(600);
    expect(config.storage.sqlite.synchronous).toBe("normal");
  });

  it("says to write true or false where a file has yes or on (YAML 1.2 reads them as text)", () => {
    const file = yamlFile("federation:\n  mdns:\n    enabled: yes\ntracing:\n  enabled: sure\n");
    const refused = configError(() => loadConfig({ configFile: file, env: {} }));
    expect(refused.problems.map(({ key, message }) => [key, message])).toEqual([
      ["federation.mdns.enabled", expect.stringMatching(/expected boolean, received string \(write true or false: "yes" is text in YAML 1\.2\)$/)],
      ["tracing.enabled", expect.stringMatching(/expected boolean, received string \(write true or false\)$/)],
    ]);
  });

  it("takes the file from KAI_CONFIG when no file is given", () => {
    const file = yamlFile("server:\n  port: 8002\n");
    expect(loadConfig({ env: { KAI_CONFIG: file } }).server.port).toBe(8002);
  });

  it("lets the environment win over the file, and overrides win over both", () => {
    const file = yamlFile("server:\n  port: 8001\n  host: 10.0.0.1\ndataDir: /from/file\n");
    const env = { KAI_PORT: "9001", KAI_HOST: "10.0.0.2", KAI_DATA_DIR: "/from/env" };
    const fromEnv = loadConfig({ configFile: file, env });
    expect(fromEnv.server).toMatchObject({ port: 9001, host: "10.0.0.2" });
    expect(fromEnv.dataDir).toBe("/from/env");
    const overridden = loadConfig({ configFile: file, env, overrides: { server: { port: 9101 }, dataDir: "/from/flag" } });
    expect(overridden.server).toMatchObject({ port: 9101, host: "10.0.0.2" });
    expect(overridden.dataDir).toBe("/from/flag");
  });

  it("names an unknown key in the file, at the top level and nested", () => {
    expect(configError(() => loadConfig({ configFile: yamlFile("servr:\n  port: 1\n"), env: {} })).message).toContain("servr");
    const nested = configError(() => loadConfig({ configFile: yamlFile("server:\n  prot: 1\n"), env: {} })).message;
    expect(nested).toContain("prot");
    expect(nested).toContain("server");
  });

  it("names the known key a misspelt one most likely stands for, and none when nothing is close", () => {
    const file = yamlFile("servr:\n  port: 1\nserver:\n  prot: 1\n  tls:\n    cert: a.pem\ntracing:\n  otlp: http://collector:4318\n  Enabled: true\n  sampling: 2\nlogging:\n  rotation:\n    retentionDay: 3\n");
    const error = configError(() => loadConfig({ configFile: file, env: {} }));
    const problems = Object.fromEntries(error.problems.map((problem) => [problem.key, problem.message]));
    expect(problems).toEqual({
      servr: "unknown setting (did you mean server?)",
      "server.prot": "unknown setting (did you mean server.port?)",
      "server.tls.cert": "unknown setting (did you mean server.tls.certFile?)",
      "tracing.otlp": "unknown setting (did you mean tracing.otlpEndpoint?)",
      "tracing.Enabled": "unknown setting (did you mean tracing.enabled?)",
      "tracing.sampling": "unknown setting",
      "logging.rotation.retentionDay": "unknown setting (did you mean logging.rotation.retentionDays?)",
    });
    expect(error.message).toContain("  tracing.otlp: unknown setting (did you mean tracing.otlpEndpoint?)");
  });

  it("refuses invalid YAML, a missing file and a file that is not a mapping", () => {
    const invalid = yamlFile("server:\n  port: [1, 2\n  host: x\n");
    expect(configError(() => loadConfig({ configFile: invalid, env: {} })).message).toContain(invalid);
    const missing = join(dir, "does-not-exist.yaml");
    expect(configError(() => loadConfig({ configFile: missing, env: {} })).message).toContain(missing);
    configError(() => loadConfig({ configFile: yamlFile("- a\n- b\n"), env: {} }));
  });

  it("refuses bad values with the failing field", () => {
    expect(configError(() => loadConfig({ env: { KAI_PORT: "seventy" } })).message).toContain("server.port");
    expect(configError(() => loadConfig({ env: { KAI_PORT: "70000" } })).message).toContain("server.port");
    expect(configError(() => loadConfig({ configFile: yamlFile("storage:\n  sqlite:\n    synchronous: off\n"), env: {} })).message).toContain("storage.sqlite.synchronous");
  });

  it("an empty file means all defaults", () => {
    expect(loadConfig({ configFile: yamlFile(""), env: {} }).server.port).toBe(7070);
  });
});
