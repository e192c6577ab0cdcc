/**
 * @module bench/registry/http-client
 * The load generator's HTTP side: raw undici pools with keep-alive (and pipelining at high
 * concurrency), the lowest-overhead Node client, so the figures measure the server rather than a
 * heavy SDK. Every answer's status is checked; a wrong one throws with the server's error code.
 */
import { Pool } from "undici";

const MAX_CONNECTIONS = 64;
/** Connections at most for POST workloads: one per request in flight (see poolFor). */
const MAX_POST_CONNECTIONS = 256;

/**
 * A pool sized for `inFlight` concurrent requests. GET: one connection each up to 64, then HTTP/1.1 pipelining on
 * those 64 (as many clients behind a few proxies would look). `posts`: one connection per request in flight (up to
 * 256), because undici never pipelines a POST (not idempotent: it waits for the answer before the next request on
 * that connection), so "256 in flight" on 64 pipelined connections was 64 in flight at the server.
 */
export function poolFor(url, inFlight, { posts = false } = {}) {
  const connections = Math.min(inFlight, posts ? MAX_POST_CONNECTIONS : MAX_CONNECTIONS);
  return new Pool(url, {
    connections,
    pipelining: Math.ceil(inFlight / connections),
    keepAliveTimeout: 60_000,
  });
}

async function failure(method, path, response) {
  const text = await response.body.text();
  let code = "";
  try {
    code = JSON.parse(text)?.error?.code ?? "";
  } catch {
    // not JSON: keep the status only
  }
  return new Error(`${method} ${path} -> ${response.statusCode} ${code}`.trim());
}

/**
 * Sends one request and checks the status. Returns the parsed JSON body when `parse` is set;
 * otherwise the body is drained unread (the client's cost stays small and constant).
 */
export async function call(pool, { method, path, token, body, expect, parse = false }) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await pool.request({ method, path, headers, body });
  if (!expect.includes(response.statusCode)) throw await failure(method, path, response);
  if (parse) return response.body.json();
  await response.body.dump();
  return undefined;
}
