/**
 * @module bench/registry/server-process
 * Runs our registry as a separate process (`kai serve`), the way an operator runs it, so that the
 * load generator never shares the server's event loop. Each instance gets a temp data dir and a
 * config with rate limits off and warn-level logs; the admin token is read from `<dataDir>/admin.token`.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, sleep, waitForHttp } from "../lib/net.mjs";
import { trackChild } from "../lib/cleanup.mjs";

export const CLI_MAIN = resolve(fileURLToPath(new URL("../../packages/cli/dist/main.js", import.meta.url)));

/** Why our server cannot be run, or undefined when the built CLI is there. */
export function registryUnavailable() {
  return existsSync(CLI_MAIN) ? undefined : `${CLI_MAIN} does not exist (run npm run build)`;
}

function configYaml(synchronous) {
  return [
    "# written by bench/: no rate limits (they would cap the figures), quiet logs",
    "logging:",
    "  level: warn",
    "rateLimit:",
    "  enabled: false",
    "storage:",
    "  sqlite:",
    `    synchronous: ${synchronous}`,
    // BENCH_SQLITE_PAGE_SIZE tries another page size for the new database (e.g. 2048); default: the server's.
    ...(process.env.BENCH_SQLITE_PAGE_SIZE ? [`    pageSize: ${Number(process.env.BENCH_SQLITE_PAGE_SIZE)}`] : []),
    "",
  ].join("\n");
}

/**
 * Starts `kai serve` on a free loopback port with its own temp data dir and the given config file text.
 * @param {{ name: string, config: string }} options
 * @returns {Promise<{ pid: number, url: string, adminToken: string, logTail(): string, stop(): Promise<void> }>}
 */
export async function startKaiServe({ name, config }) {
  const dir = mkdtempSync(join(tmpdir(), `kai-bench-${name}-`));
  const dataDir = join(dir, "data");
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, config);
  const port = await freePort();
  const logPath = join(dir, "server.log");
  const logFd = openSync(logPath, "a");
  const child = spawn(
    process.execPath,
    [CLI_MAIN, "serve", "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--config", configPath],
    { stdio: ["ignore", logFd, logFd], env: { ...process.env, KAI_LOG_LEVEL: "warn" } },
  );
  closeSync(logFd);
  const untrack = trackChild(child, dir);
  let exited = false;
  child.once("exit", () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const tail = () => readFileSync(logPath, "utf8").split("\n").slice(-8).join("\n");
  let adminToken;
  try {
    await waitForHttp(`${url}/healthz`, { isAlive: () => !exited });
    const tokenPath = join(dataDir, "admin.token");
    for (let i = 0; i < 50 && !existsSync(tokenPath); i++) await sleep(100);
    adminToken = readFileSync(tokenPath, "utf8").trim();
  } catch (error) {
    child.kill("SIGKILL");
    const log = tail();
    rmSync(dir, { recursive: true, force: true });
    untrack();
    throw new Error(`our server did not start: ${error.message}\n${log}`);
  }
  return {
    pid: child.pid,
    url,
    adminToken,
    logTail: tail,
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

/**
 * Starts our registry for the registry phases.
 * @param {{ synchronous: "full" | "normal" }} options
 */
export async function startRegistryServer({ synchronous }) {
  const server = await startKaiServe({ name: "registry", config: configYaml(synchronous) });
  return { ...server, synchronous };
}
