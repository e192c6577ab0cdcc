/**
 * Configuration files reloaded while the node runs (issue 18): a valid change to a live setting (the log level) is
 * applied; a broken file keeps the last good configuration and the log says why, naming the file; a change to a
 * setting that needs a restart is not applied and the log names the key. One real node with a user file.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startTestServer, type TestServer } from "../helpers/test-server.js";

const dir = mkdtempSync(join(tmpdir(), "kai-config-reload-"));
const configFile = join(dir, "kai.yaml");
let server: TestServer;

beforeAll(async () => {
  writeFileSync(configFile, "logging:\n  level: info\ngateway:\n  retries: 2\n");
  // No level among the test's flags, so the user file's level is the one in effect.
  server = await startTestServer({ configFile, config: { logging: { file: true } } });
});

afterAll(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("configuration files reloaded on change", () => {
  it("a broken file keeps the last good configuration and says why", async () => {
    writeFileSync(configFile, "logging:\n  level: loud\ngateway:\n  retries: 2\n");
    const line = await eventually(async () => server.logs.find((entry) => entry.includes("kept the last good configuration")));
    expect(line).toContain(configFile);
    expect(line).toContain("logging.level");
    expect(server.config.logging.level).toBe("info");
  });

  it("a valid change to a live setting is applied", async () => {
    writeFileSync(configFile, "logging:\n  level: warn\ngateway:\n  retries: 2\n");
    await eventually(async () => server.config.logging.level === "warn");
    const explained = (await (await server.request("/api/config/explain?key=logging.level")).json()) as { winner: string; value: string };
    expect(explained).toMatchObject({ winner: "user", value: "warn" });
  });

  it("a change that needs a restart is not applied, and the log names the key", async () => {
    writeFileSync(configFile, "logging:\n  level: warn\ngateway:\n  retries: 2\n  maxResponseBytes: 1048576\n");
    const line = await eventually(async () => server.logs.find((entry) => entry.includes("need a restart")));
    expect(line).toContain("gateway.maxResponseBytes");
    expect(server.config.gateway.maxResponseBytes).toBe(64 * 1024 * 1024);
  });
});
