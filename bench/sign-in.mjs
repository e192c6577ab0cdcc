/**
 * @module bench/sign-in
 * `npm run bench` (sign-in part, issue 14), after `npm run build`:
 * 1. The cost of one argon2id hash at the server's default cost, in this process (the figure every sign-in pays).
 * 2. Sign-ins per second through `POST /api/auth/login` on a spawned `kai serve` (password users, closed loop),
 *    with the server's CPU per sign-in: argon2id should be nearly all of it.
 * 3. What checking a caller costs per request: the same gateway chat completion (fake upstream) with an
 *    admin-minted API token, a session's access token and a user's personal token, next to the undici proxy
 *    measured in the same run. A user's token also passes the access table (roles, disabled users, revoked
 *    sessions), which must stay off the gateway's hot path: the three ratios to the proxy should agree.
 * Figures only, no pass/fail (the machine is shared). BENCH_QUICK=1 for short windows.
 */
import autocannon from "autocannon";
import argon2 from "argon2";
import { existsSync, readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnKai, startUndiciProxy, startUpstream } from "./gateway/processes.mjs";
import { sleep } from "./lib/net.mjs";
import { processCpuMs } from "./lib/proc-stats.mjs";

const quick = process.env.BENCH_QUICK === "1";
const settings = { signInSeconds: quick ? 3 : 10, signInConnections: 4, gatewaySeconds: quick ? 3 : 10, gatewayConnections: 64, rounds: quick ? 1 : 2 };
const CLI_MAIN = fileURLToPath(new URL("../packages/cli/dist/main.js", import.meta.url));
const CONFIG_MODULE = fileURLToPath(new URL("../packages/server/dist/config/config-schema.js", import.meta.url));
const log = (message) => process.stderr.write(`${message}\n`);
const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "—");
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const CHAT = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "Say hello." }] });

if (!existsSync(CLI_MAIN) || !existsSync(CONFIG_MODULE)) {
  log("bench/sign-in: the packages are not built (run npm run build)");
  process.exit(1);
}

/** The server's default argon2id cost, read from its own config schema (not repeated here). */
async function defaultCost() {
  const { ConfigSchema } = await import(CONFIG_MODULE);
  return ConfigSchema.parse({}).auth.signIn.password;
}

async function hashTime(cost) {
  const times = [];
  for (let i = 0; i < (quick ? 5 : 20); i++) {
    const started = performance.now();
    await argon2.hash("correct horse battery staple", { type: argon2.argon2id, memoryCost: cost.memoryKiB, timeCost: cost.iterations, parallelism: cost.parallelism });
    times.push(performance.now() - started);
  }
  return median(times);
}

/** A `kai serve` (bench/gateway/processes.mjs) and the first admin's one-time password it wrote at its first start. */
async function startKai() {
  const kai = await spawnKai();
  const firstAdminPath = join(kai.dataDir, "first-admin.password");
  for (let i = 0; i < 50 && !existsSync(firstAdminPath); i++) await sleep(100);
  return { ...kai, firstAdminPassword: readFileSync(firstAdminPath, "utf8").trim() };
}

async function call(url, path, body, token, method = "POST") {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path} -> ${response.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

function autocannonRun(options) {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/** Closed loop against one target; the target's own CPU per completed request from /proc. */
async function closedLoop({ url, path, headers, body, connections, seconds, pid }) {
  const cpuBefore = processCpuMs(pid);
  const result = await autocannonRun({ url: `${url}${path}`, method: "POST", headers: { "content-type": "application/json", ...headers }, body, connections, duration: seconds });
  const ok = result["2xx"];
  return {
    perSecond: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuUsPerRequest: ((processCpuMs(pid) - cpuBefore) * 1000) / Math.max(1, ok),
  };
}

async function main() {
  log(`kAI sign-in benchmark${quick ? " (BENCH_QUICK)" : ""}`);
  log(`machine: ${cpus().length} x ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GB, Linux ${release()}, Node ${process.version}`);
  const cost = await defaultCost();
  const oneHash = await hashTime(cost);
  log(`argon2id m=${cost.memoryKiB} KiB, t=${cost.iterations}, p=${cost.parallelism}: one hash ${fmt(oneHash, 1)} ms (median, in process)`);

  const upstream = await startUpstream();
  const stops = [upstream.stop];
  try {
    const proxy = await startUndiciProxy(upstream.url);
    stops.push(proxy.stop);
    const kai = await startKai();
    stops.push(kai.stop);
    const admin = await call(kai.url, "/api/auth/login", { username: "admin", password: kai.firstAdminPassword, newPassword: "bench admin password 1" });
    await call(kai.url, "/api/services/register", {
      id: "bench-upstream", name: "bench upstream", type: "service", provider: "openai-compatible", capabilities: ["llm_chat"],
      url: upstream.url, protocol: "http", visibility: "public", metadata: { models: ["bench-model"] },
    }, kai.adminToken);
    await call(kai.url, "/api/users", { username: "bench-dev", password: "bench developer password", roles: ["developer"] }, admin.accessToken);
    const credentials = JSON.stringify({ username: "bench-dev", password: "bench developer password" });
    const session = await call(kai.url, "/api/auth/login", JSON.parse(credentials));
    const personal = await call(kai.url, "/api/users/me/tokens", { scopes: ["gateway:invoke"], ttl: "1d" }, session.accessToken);
    const apiToken = await call(kai.url, "/api/tokens", { scopes: ["gateway:invoke"], owner: "bench", ttl: "1d" }, kai.adminToken);

    log("\n== sign-ins (POST /api/auth/login, password, no second factor)");
    const signIns = await closedLoop({ url: kai.url, path: "/api/auth/login", body: credentials, connections: settings.signInConnections, seconds: settings.signInSeconds, pid: kai.pid });
    log(`  ${fmt(signIns.perSecond, 1)}/s at ${settings.signInConnections} in flight (p50 ${signIns.p50} ms, p99 ${signIns.p99} ms, ${signIns.errors} errors; server CPU ${int(signIns.cpuUsPerRequest)} µs per sign-in)`);

    const targets = [
      { name: "undici proxy", url: proxy.url, pid: proxy.pid, headers: { authorization: "Bearer upstream-key" } },
      { name: "ours, API token", url: kai.url, pid: kai.pid, headers: { authorization: `Bearer ${apiToken.token}` } },
      { name: "ours, session access token", url: kai.url, pid: kai.pid, headers: { authorization: `Bearer ${session.accessToken}` } },
      { name: "ours, personal token", url: kai.url, pid: kai.pid, headers: { authorization: `Bearer ${personal.token}` } },
    ];
    const results = new Map(targets.map((target) => [target.name, []]));
    // Interleaved rounds, so that a noisy neighbour hurts every target alike.
    for (let round = 0; round < settings.rounds; round++) {
      for (const target of targets) {
        const figures = await closedLoop({ ...target, path: "/v1/chat/completions", body: CHAT, connections: settings.gatewayConnections, seconds: settings.gatewaySeconds });
        results.get(target.name).push(figures);
        log(`  round ${round + 1} ${target.name}: ${int(figures.perSecond)}/s (${figures.errors} errors, ${int(figures.cpuUsPerRequest)} µs CPU/req)`);
      }
    }
    const best = (name) => Math.max(...results.get(name).map((r) => r.perSecond));
    const floor = best("undici proxy");
    console.log("\nSign-in (issue 14)");
    console.log(`| Figure | Value |`);
    console.log(`|---|---|`);
    console.log(`| argon2id cost | m=${cost.memoryKiB} KiB, t=${cost.iterations}, p=${cost.parallelism} |`);
    console.log(`| one hash (median, in process) | ${fmt(oneHash, 1)} ms |`);
    console.log(`| sign-ins/s (${settings.signInConnections} in flight) | ${fmt(signIns.perSecond, 1)} (p50 ${signIns.p50} ms, p99 ${signIns.p99} ms, ${signIns.errors} errors) |`);
    console.log(`| server CPU per sign-in | ${int(signIns.cpuUsPerRequest)} µs |`);
    console.log("\nGateway chat completion by caller kind (best of the rounds, same run)");
    console.log("| Caller | req/s | vs undici proxy | CPU µs/req (median of rounds) |");
    console.log("|---|---|---|---|");
    for (const target of targets) {
      const rate = best(target.name);
      console.log(`| ${target.name} | ${int(rate)} | ${fmt(rate / floor)}x | ${int(median(results.get(target.name).map((r) => r.cpuUsPerRequest)))} |`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

await main();
