/**
 * A real NATS server for tests, started by the test itself: `nats-server` on a free loopback port, no
 * JetStream, no persistence. The binary comes from KAI_TEST_NATS_BIN, the PATH, or the usual Debian / Homebrew
 * places; like every real part (real-parts.ts) it is skipped with a message locally when missing, and a failure
 * under CI=true (.ci/run installs Debian's `nats-server`).
 *
 * `kill()` sends SIGKILL and `start()` brings a fresh server back on the same port, so clients that reconnect by
 * themselves find it again.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { missingPart } from "./real-parts.js";
import { freePort, serverProcess } from "./server-process.js";

export interface NatsServer {
  readonly port: number;
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const HOW_TO_GET = "install NATS (Debian: `apt-get install nats-server`; macOS: `brew install nats-server`) or point KAI_TEST_NATS_BIN at the nats-server binary";

/** The `nats-server` binary, or null. */
export function findNatsServer(): string | null {
  const candidates: string[] = [];
  if (process.env.KAI_TEST_NATS_BIN) candidates.push(process.env.KAI_TEST_NATS_BIN);
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir) candidates.push(join(dir, "nats-server"));
  candidates.push("/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server", "/opt/homebrew/bin/nats-server");
  return candidates.find((path) => existsSync(path)) ?? null;
}

/** True once the server greets a new connection with its INFO line (no client library: the helper tests clients). */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.setTimeout(2000, () => socket.destroy());
    socket.once("error", () => resolve(false));
    socket.once("close", () => resolve(false));
    socket.once("data", (chunk: Buffer) => {
      socket.destroy();
      resolve(chunk.toString().startsWith("INFO "));
    });
  });
}

/** Starts a private NATS server; null (with a skip message) when none is installed and CI is not set. Call `stop()` in afterAll. */
export async function startNats(): Promise<NatsServer | null> {
  const bin = findNatsServer();
  if (!bin) {
    missingPart("NATS (nats-server)", HOW_TO_GET);
    return null;
  }
  const port = await freePort();
  const server = serverProcess({
    name: "nats-server",
    spawn: () => spawn(bin, ["-a", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] }),
    ready: () => greets(port),
    readyWithin: { ms: 20_000, message: "did not greet a connection within 20 s" },
    pollMs: 50,
  });
  await server.start();
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    async kill() {
      await server.signal("SIGKILL");
    },
    start: () => server.start(),
    async stop() {
      await server.signal("SIGTERM");
    },
  };
}
