/**
 * @module bench/registry/server-process
 * Runs our registry as a separate process (`kai serve`), the way an operator runs it, so that the
 * load generator never shares the server's event loop. Each instance gets a temp data dir and a
 * config with rate limits off and warn-level logs; the admin token is read from `<dataDir>/admin.token`.
 * Storage is SQLite in the data dir (durability mode under test) or a PostgreSQL database the bench made.
 */
import { spawn } from "node:child_process";
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, sleep, waitForHttp } from "../lib/net.mjs";
import { trackChild } from "../lib/cleanup.mjs";

/** BENCH_KAI_MAIN runs another build's CLI (e.g. a tree unpacked from an older commit, for before/after runs). */
export const CLI_MAIN = process.env.BENCH_KAI_MAIN
  ? resolve(process.env.BENCH_KAI_MAIN)
  : resolve(fileURLToPath(new URL("../../packages/cli/dist/main.js", import.meta.url)));

/**
 * BENCH_SERVER_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it exits (open it in Chrome
 * DevTools or speedscope): where the server's own CPU goes in a phase. Off by default (it slows the server).
 */
function profileFlags(name) {
  const dir = process.env.BENCH_SERVER_CPU_PROF;
  // BENCH_SERVER_NODE_FLAGS="--trace-gc ...": V8/Node flags for the servers only (NODE_OPTIONS refuses some, and
  // would reach the load generator too).
  const extra = (process.env.BENCH_SERVER_NODE_FLAGS ?? "").split(" ").filter(Boolean);
  return dir ? [...extra, "--cpu-prof", `--cpu-prof-dir=${resolve(dir)}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : extra;
}

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

/** The vault passphrase of every bench instance on PostgreSQL (a throwaway node on a throwaway database). */
export const BENCH_VAULT_PASSPHRASE = "kai bench throwaway vault passphrase";

/**
 * The config of an instance on PostgreSQL: the server's defaults (pool of 10, cluster heartbeat 1 s, member
 * timeout 5 s, poll 2 s) with rate limits off and quiet logs. `extra` lines are appended (the cluster bench's
 * shared vault key dir). The URL holds no password: the bench's PostgreSQL trusts loopback.
 */
export function postgresConfigYaml(url, extra = []) {
  return [
    "# written by bench/: no rate limits (they would cap the figures), quiet logs, default pool and cluster settings",
    "logging:",
    "  level: warn",
    "rateLimit:",
    "  enabled: false",
    "storage:",
    "  kind: postgres",
    "  postgres:",
    `    url: ${JSON.stringify(url)}`,
    ...extra,
    "",
  ].join("\n");
}

/**
 * Starts `kai serve` on a free loopback port with its own temp data dir and the given config file text.
 * `env` adds environment variables (the cluster bench's vault passphrase).
 * @param {{ name: string, config: string, env?: Record<string, string> }} options
 * @returns {Promise<{ pid: number, url: string, adminToken: string, logTail(): string, kill(): Promise<void>, stop(): Promise<void> }>}
 */
export async function startKaiServe({ name, config, env = {}, main = CLI_MAIN }) {
  const dir = mkdtempSync(join(tmpdir(), `kai-bench-${name}-`));
  const dataDir = join(dir, "data");
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, config);
  const port = await freePort();
  const logPath = join(dir, "server.log");
  const logFd = openSync(logPath, "a");
  const child = spawn(
    process.execPath,
    [...profileFlags(name), main, "serve", "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--config", configPath],
    { stdio: ["ignore", logFd, logFd], env: { ...process.env, KAI_LOG_LEVEL: "warn", ...env } },
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
    /** kill -9: no shutdown, no goodbye to the database (its sockets close with the process). */
    async kill() {
      if (exited) return;
      const gone = new Promise((done) => child.once("exit", done));
      child.kill("SIGKILL");
      await gone;
    },
    async stop() {
      if (!exited) {
        const gone = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await gone;
        clearTimeout(timer);
      }
      // BENCH_KEEP_LOGS=1 keeps each server's log (for a phase that failed); the data dir goes either way.
      if (process.env.BENCH_KEEP_LOGS === "1") {
        copyFileSync(logPath, `${dir}.log`);
        process.stderr.write(`  (server log kept: ${dir}.log)\n`);
      }
      rmSync(dir, { recursive: true, force: true });
      untrack();
    },
  };
}

/**
 * Starts our registry for the registry phases: on SQLite in a durability mode, or on a PostgreSQL database.
 * @param {{ synchronous?: "full" | "normal", postgresUrl?: string }} options
 */
export async function startRegistryServer({ synchronous, postgresUrl, main }) {
  if (postgresUrl) {
    // On shared storage the first start creates the node key in the vault, so the vault must unlock at start.
    const server = await startKaiServe({ name: "registry-pg", config: postgresConfigYaml(postgresUrl), env: { KAI_VAULT_PASSPHRASE: BENCH_VAULT_PASSPHRASE }, ...(main ? { main } : {}) });
    return { ...server, synchronous: "postgres" };
  }
  const server = await startKaiServe({ name: "registry", config: configYaml(synchronous), ...(main ? { main } : {}) });
  return { ...server, synchronous };
}
