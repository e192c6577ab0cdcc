/**
 * @module bench/klp/node-process
 * A `kai serve` process for the federation benchmark (bench/registry/server-process.mjs starts it): its own
 * temp data dir, SQLite at the default durability, rate limits off, warn-level logs, and federation pulls
 * every 2 s (pushes carry live changes; the pull is only the safety net, so its interval barely matters here).
 */
import { startKaiServe } from "../registry/server-process.mjs";

const CONFIG = ["logging:", "  level: warn", "rateLimit:", "  enabled: false", "federation:", "  pullIntervalMs: 2000", ""].join("\n");

export async function startNode(name) {
  const server = await startKaiServe({ name: `klp-${name}`, config: CONFIG });
  const did = (await (await fetch(`${server.url}/.well-known/klp.json`)).json()).did;
  return { name, url: server.url, token: server.adminToken, did, pid: server.pid, stop: () => server.stop() };
}
