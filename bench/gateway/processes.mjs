/**
 * @module bench/gateway/processes
 * Starts the gateway benchmark's processes, each in its own Node process so that no two share an event
 * loop: the fixed upstream, the minimal undici proxy, our server (with a registered upstream service and a
 * gateway token), and @portkey-ai/gateway. Every child is tracked so that a failed run leaves none behind.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { trackChild } from "../lib/cleanup.mjs";
import { freePort, sleep, waitForHttp } from "../lib/net.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI_MAIN = fileURLToPath(new URL("../../packages/cli/dist/main.js", import.meta.url));

/** Spawns `node script args…` and resolves once it printed its `{"port":N}` line. */
function spawnWithPort(script, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } });
    const untrack = trackChild(child);
    let buffered = "";
    child.stdout.on("data", (data) => {
      buffered += data;
      const line = buffered.split("\n").find((text) => text.startsWith("{"));
      if (!line) return;
      child.stdout.removeAllListeners("data");
      child.stdout.resume();
      const { port } = JSON.parse(line);
      resolve({ pid: child.pid, url: `http://127.0.0.1:${port}`, stop: () => stop(child, untrack) });
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before listening`)));
  });
}

async function stop(child, untrack) {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(timer);
  }
  untrack();
}

export function startUpstream() {
  return spawnWithPort(join(HERE, "fake-upstream.mjs"), ["0"]);
}

export function startUndiciProxy(upstreamUrl) {
  return spawnWithPort(join(HERE, "undici-proxy.mjs"), ["0", upstreamUrl]);
}

/** The rate limits of a benchmark server: on, as in production, but high enough not to refuse the load. */
const HIGH_LIMITS = ["rateLimit:", "  enabled: true", ...["global", "auth", "read", "write", "gateway"].map((bucket) => `  ${bucket}: { max: 10000000, windowSeconds: 60 }`)];

/**
 * Spawns `kai serve` on a free port in a temp data dir with production settings and `HIGH_LIMITS`; resolves once it
 * answers, with its admin token and data dir (bench/sign-in.mjs reads the first admin's one-time password there).
 */
export async function spawnKai(log, extraConfig = []) {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} does not exist (run npm run build)`);
  const dir = mkdtempSync(join(tmpdir(), "kai-bench-"));
  const dataDir = join(dir, "data");
  const configPath = join(dir, "config.yaml");
  writeFileSync(configPath, ["# written by the benchmark: production settings, with rate limits high enough for the load", "logging:", "  level: warn", ...HIGH_LIMITS, ...extraConfig, ""].join("\n"));
  const port = await freePort();
  const child = spawn(process.execPath, [CLI_MAIN, "serve", "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--config", configPath], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, KAI_LOG_LEVEL: "warn" },
  });
  const untrack = trackChild(child, dir);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, { isAlive: () => child.exitCode === null });
  const tokenPath = join(dataDir, "admin.token");
  for (let i = 0; i < 50 && !existsSync(tokenPath); i++) await sleep(100);
  log?.(`  ours: ${url}`);
  return { pid: child.pid, url, dataDir, adminToken: readFileSync(tokenPath, "utf8").trim(), stop: () => stop(child, untrack) };
}

/** Where the tracing runs send their spans (otlp-sink.mjs). */
export function startOtlpSink() {
  return spawnWithPort(join(HERE, "otlp-sink.mjs"), ["0"]);
}

/**
 * Our server, with a registered upstream service and a gateway token. `tracing`: OpenTelemetry on, exporting to
 * `tracing.endpoint`, recording `tracing.sampleRatio` of the requests (the benchmark's callers send no traceparent).
 */
export async function startKai(upstreamUrl, log, tracing) {
  const extra = tracing ? ["tracing:", "  enabled: true", `  otlpEndpoint: ${tracing.endpoint}/v1/traces`, `  sampleRatio: ${tracing.sampleRatio}`] : [];
  const kai = await spawnKai(log, extra);
  const { url, adminToken: admin } = kai;
  const call = async (path, body, token = admin) => {
    const response = await fetch(`${url}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${path} -> ${response.status} ${text.slice(0, 200)}`);
    return JSON.parse(text);
  };
  await call("/api/services/register", {
    id: "bench-upstream",
    name: "bench upstream",
    type: "service",
    provider: "openai-compatible",
    capabilities: ["llm_chat"],
    url: upstreamUrl,
    protocol: "http",
    visibility: "public",
    metadata: { models: ["bench-model"] },
  });
  const { token } = await call("/api/tokens", { scopes: ["gateway:invoke", "services:read"], owner: "bench", ttl: "1d" });
  log?.(`  ours: service bench-upstream → ${upstreamUrl}`);
  return { pid: kai.pid, url, token, stop: kai.stop };
}

/** @portkey-ai/gateway from node_modules, pointed at the upstream with its custom-host header. */
export async function startPortkey() {
  let main;
  try {
    const require = createRequire(import.meta.url);
    main = join(dirname(require.resolve("@portkey-ai/gateway/package.json")), "build", "start-server.js");
  } catch {
    throw new Error("@portkey-ai/gateway is not installed (npm install)");
  }
  const port = await freePort();
  const child = spawn(process.execPath, [main, `--port=${port}`, "--headless"], { stdio: ["ignore", "ignore", "ignore"], env: { ...process.env, NODE_ENV: "production" } });
  const untrack = trackChild(child);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, { isAlive: () => child.exitCode === null });
  return { pid: child.pid, url, stop: () => stop(child, untrack) };
}
