/**
 * `createLogger` hands out the security events' logger beside the node's (logging/security-lines.ts), for server.ts to
 * give their writers in their constructors: with a security log file, a logger at info over a tree at `warn` whose
 * info security lines reach `logs/security/` only; without log files, the node's logger itself. And the one rule for a
 * destination's threshold (logging/log-level.ts): the security file's never above info.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logging/logger.js";
import { destinationLevel } from "../../src/logging/log-level.js";
import { loadConfig } from "../../src/config/load-config.js";

const dir = mkdtempSync(join(tmpdir(), "kai-security-logger-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): { sink: Writable; lines: Array<{ msg: string; level: number }> } {
  const lines: Array<{ msg: string; level: number }> = [];
  const sink = new Writable({ write: (chunk, _encoding, done) => void (lines.push(JSON.parse(String(chunk)) as { msg: string; level: number }), done()) });
  return { sink, lines };
}

describe("createLogger's security logger", () => {
  it("writes info security events to logs/security/ when the node is at warn; the other destinations keep to warn", async () => {
    const { sink, lines } = capture();
    const config = loadConfig({ env: {}, overrides: { dataDir: dir, logging: { stdout: false, file: true, level: "warn" } } });
    const { logger, securityLogger, flush } = createLogger({ config, extraDestination: sink });
    expect(securityLogger).not.toBe(logger);
    logger.info({ category: "security", event: "dropped" }, "security: through the node's logger");
    securityLogger.info({ category: "security", event: "recorded" }, "security: recorded");
    securityLogger.warn({ category: "security", event: "failed" }, "security: failed");
    await flush();
    const folder = join(dir, "logs", "security");
    const recorded = readdirSync(folder).flatMap((name) => readFileSync(join(folder, name), "utf8").split("\n").filter(Boolean)).map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(recorded).toEqual(["security: recorded", "security: failed"]);
    expect(lines.map((line) => line.msg)).toEqual(["security: failed"]);
  });

  it("is the node's logger itself without log files", () => {
    const config = loadConfig({ env: {}, overrides: { dataDir: dir, logging: { stdout: false, file: false, level: "warn" } } });
    const { logger, securityLogger } = createLogger({ config });
    expect(securityLogger).toBe(logger);
  });

  it("holds a floored destination at info at the most, whatever the level", () => {
    for (const level of ["warn", "error", "fatal", "silent"]) expect(destinationLevel(level, true)).toBe("info");
    for (const level of ["info", "debug", "trace"]) expect(destinationLevel(level, true)).toBe(level);
    for (const level of ["warn", "silent", "debug"]) expect(destinationLevel(level, false)).toBe(level);
  });
});
