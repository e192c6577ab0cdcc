/**
 * A real Redis server for tests, started by the test itself: `redis-server` on a free loopback port with no
 * persistence (no RDB snapshots, no AOF), in a temporary folder removed by `stop()`. The binary comes from
 * KAI_TEST_REDIS_BIN, the PATH, or the usual Debian / Homebrew places.
 *
 * `kill()` sends SIGKILL (a crash: every counter is lost, as with a real Redis without persistence) and `start()`
 * brings a fresh server back on the same port, so clients that reconnect by themselves find it again: what the
 * "Redis outage" tests do. `flush()` empties it between tests.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingPart } from "./real-parts.js";
import { freePort, serverProcess } from "./server-process.js";

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (database `db`, 0 when omitted). */
  url(db?: number): string;
  /** Empties every database (FLUSHALL). */
  flush(): Promise<void>;
  /** SIGKILL: the server dies as in a crash; clients see their connection drop. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (after `kill`). */
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
}

const HOW_TO_GET = "install Redis (Debian: `apt-get install redis-server`; macOS: `brew install redis`) or point KAI_TEST_REDIS_BIN at the redis-server binary";

/** The `redis-server` binary, or null. */
export function findRedisServer(): string | null {
  const candidates: string[] = [];
  if (process.env.KAI_TEST_REDIS_BIN) candidates.push(process.env.KAI_TEST_REDIS_BIN);
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir) candidates.push(join(dir, "redis-server"));
  candidates.push("/usr/bin/redis-server", "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server");
  return candidates.find((path) => existsSync(path)) ?? null;
}

/** Sends one inline command and resolves with the first reply line (no client library: the helper tests clients). */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    socket.setTimeout(2000, () => socket.destroy(new Error("redis did not answer within 2 s")));
    socket.once("error", reject);
    socket.on("data", (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) {
        socket.end();
        resolve(reply.slice(0, reply.indexOf("\r\n")));
      }
    });
    socket.once("connect", () => socket.write(`${line}\r\n`));
  });
}

/**
 * Starts a private Redis server; null (with a skip message) when none is installed and CI is not set.
 * Call `stop()` in afterAll.
 */
export async function startRedis(): Promise<RedisServer | null> {
  const bin = findRedisServer();
  if (!bin) {
    missingPart("Redis (redis-server)", HOW_TO_GET);
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), "kai-redis-"));
  const port = await freePort();
  // No persistence: a killed server comes back empty, like a cache that lost its memory.
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning"];
  const server = serverProcess({
    name: "redis-server",
    spawn: () => spawn(bin, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] }),
    ready: async () => (await command(port, "PING")) === "+PONG",
    readyWithin: { ms: 20_000, message: "did not answer PING within 20 s" },
    pollMs: 50,
  });
  const start = () => server.start();

  await start();
  return {
    port,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    async flush() {
      const reply = await command(port, "FLUSHALL");
      if (reply !== "+OK") throw new Error(`FLUSHALL answered ${reply}`);
    },
    async kill() {
      await server.signal("SIGKILL");
    },
    start,
    async stop() {
      await server.signal("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
