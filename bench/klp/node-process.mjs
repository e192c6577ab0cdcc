/**
 * @module bench/klp/node-process
 * A `kai serve` process for the federation benchmark: its own temp data dir, SQLite at the default
 * durability, rate limits off, warn-level logs, and federation pulls every 2 s (pushes carry live changes;
 * the pull is only the safety net, so its interval barely matters for the figures).
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI_MAIN } from "../registry/server-process.mjs";
import { freePort, sleep, waitForHttp } from "../lib/net.mjs";
import { trackChild } from "../lib/cleanup.mjs";

const CONFIG = ["logging:", "  level: warn", "rateLimit:", "  enabled: false", "federation:", "  pullIntervalMs: 2000", ""].join("\n");

export async function startNode(name) {
  const dir = mkdtempSync(join(tmpdir(), `kai-bench-klp-${name}-`));
  const dataDir = join(dir, "data");
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, CONFIG);
  const port = await freePort();
  const logPath = join(dir, "server.log");
  const logFd = openSync(logPath, "a");
  const child = spawn(process.execPath, [CLI_MAIN, "serve", "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--config", configPath], {
    stdio: ["ignore", logFd, logFd],
    env: { ...process.env, KAI_LOG_LEVEL: "warn" },
  });
  closeSync(logFd);
  const untrack = trackChild(child, dir);
  let exited = false;
  child.once("exit", () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, { isAlive: () => !exited });
  const tokenPath = join(dataDir, "admin.token");
  for (let i = 0; i < 50 && !existsSync(tokenPath); i++) await sleep(100);
  const token = readFileSync(tokenPath, "utf8").trim();
  const did = (await (await fetch(`${url}/.well-known/klp.json`)).json()).did;
  return {
    name,
    url,
    token,
    did,
    pid: child.pid,
    async stop() {
      if (!exited) {
        const gone = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
      untrack();
    },
  };
}
