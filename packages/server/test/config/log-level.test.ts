/**
 * The log level changed at run time (logging/log-level.ts) on a real pino logger from createLogger: the root, the
 * children made while the node started (they are remembered), their later children, and every destination follow;
 * a lower level lets debug lines reach the destinations too.
 */
import { Writable } from "node:stream";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/logging/logger.js";
import { setLogLevel, stopTrackingChildren } from "../../src/logging/log-level.js";
import { loadConfig } from "../../src/config/load-config.js";

const dir = mkdtempSync(join(tmpdir(), "kai-log-level-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("setLogLevel", () => {
  it("reaches the root, children made at start, their later children and the destinations", () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => void (lines.push(String(chunk)), done()) });
    const config = loadConfig({ env: {}, overrides: { dataDir: dir, logging: { stdout: false, file: false, level: "info" } } });
    const { logger } = createLogger({ config, extraDestination: sink });
    const part = logger.child({ part: "made-at-start" });
    stopTrackingChildren(logger);
    part.debug("hidden debug");
    setLogLevel(logger, "debug");
    expect(part.level).toBe("debug");
    part.debug("shown debug");
    part.child({ taskId: "t1" }).debug("shown from a later child");
    setLogLevel(logger, "error");
    part.warn("hidden warning");
    logger.error("shown error");
    const messages = lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages).toEqual(["shown debug", "shown from a later child", "shown error"]);
  });
});
