/**
 * @module bench/registry/registry-phases
 * Our registry doing the benchmark's work through its HTTP API: registrations (per durability mode),
 * heartbeats on 10k services, loading 100k services and filtered discovery over them, then the
 * WebSocket fan-out. Like the etcd side, each phase group runs on a fresh server, so the 30 s leases
 * of one phase never expire into the next.
 */
import { randomUUID } from "node:crypto";
import { runClosedLoop, best } from "../lib/closed-loop.mjs";
import { processRssMb } from "../lib/proc-stats.mjs";
import { DISCOVERY_FILTER, matchesDiscovery, serviceRecordJson } from "../lib/service-record.mjs";
import { sleep } from "../lib/net.mjs";
import { call, poolFor } from "./http-client.mjs";
import { startRegistryServer } from "./server-process.mjs";
import { wsFanout } from "./ws-fanout.mjs";

const REGISTER = "/api/services/register";
const CLIENT_SCOPES = ["services:read", "services:write", "services:heartbeat"];

/**
 * A non-admin token for the bench's owner, as a real agent would hold. Falls back to the admin token
 * (and says so) when token minting fails, so one broken route does not void the whole run.
 */
async function clientToken(server, log) {
  const pool = poolFor(server.url, 1);
  try {
    const created = await call(pool, {
      method: "POST",
      path: "/api/tokens",
      token: server.adminToken,
      body: JSON.stringify({ scopes: CLIENT_SCOPES, owner: "bench", ttl: "1d", name: "bench" }),
      expect: [201],
      parse: true,
    });
    return { token: created.token, kind: `owner "bench", scopes ${CLIENT_SCOPES.join(" ")}` };
  } catch (error) {
    log(`  warning: could not mint a client token (${error.message}); using the admin token`);
    return { token: server.adminToken, kind: "admin (token minting failed)" };
  } finally {
    await pool.close();
  }
}

async function withServer(options, log, fn) {
  const server = await startRegistryServer(options);
  try {
    const { token, kind } = await clientToken(server, log);
    return await fn(server, token, kind);
  } finally {
    await server.stop();
  }
}

/** Registers `count` services with `concurrency` in flight, bounded by `maxMs`. Returns ids and the rate. */
async function registerMany(server, token, { count, concurrency, maxMs, bodyOf }) {
  const pool = poolFor(server.url, concurrency);
  const ids = new Array(count);
  let next = 0;
  let done = 0;
  const started = performance.now();
  const deadline = started + maxMs;
  async function worker() {
    while (next < count && performance.now() < deadline) {
      const index = next++;
      const id = `svc-${randomUUID()}`;
      await call(pool, { method: "POST", path: REGISTER, token, body: bodyOf(id, index), expect: [201] });
      ids[index] = id;
      done++;
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await pool.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { ids: ids.slice(0, done), count: done, seconds, perSecond: done / seconds };
}

/** 1. Registrations, closed loop per level, on a fresh server in the given durability mode. */
export function registryRegistrations(settings, synchronous, log) {
  return withServer({ synchronous }, log, async (server, token, tokenKind) => {
    const levels = [];
    for (const concurrency of settings.levels) {
      const pool = poolFor(server.url, concurrency);
      try {
        const level = await runClosedLoop({
          concurrency,
          warmupMs: settings.warmupMs,
          measureMs: settings.measureMs,
          serverPid: server.pid,
          op: () => call(pool, { method: "POST", path: REGISTER, token, body: serviceRecordJson(), expect: [201] }),
        });
        levels.push(level);
        log(`  ours (${synchronous}) registration x${concurrency}: ${Math.round(level.perSecond)}/s p99 ${level.p99.toFixed(1)} ms${level.errors ? ` (${level.errors} errors: ${level.firstError})` : ""}`);
      } finally {
        await pool.close();
      }
    }
    return { synchronous, tokenKind, levels, best: best(levels) };
  });
}

/** 2. Heartbeats round-robin over `heartbeatServices` registered services (ttl 30). */
export function registryHeartbeats(settings, log) {
  return withServer({ synchronous: "full" }, log, async (server, token) => {
    const setup = await registerMany(server, token, {
      count: settings.heartbeatServices,
      concurrency: 64,
      maxMs: 120_000,
      bodyOf: (id, index) => serviceRecordJson({ id, index }),
    });
    log(`  ours: ${setup.count} services registered for heartbeats (${Math.round(setup.perSecond)}/s)`);
    const paths = setup.ids.map((id) => `/api/services/${encodeURIComponent(id)}/heartbeat`);
    const levels = [];
    for (const concurrency of settings.levels) {
      const pool = poolFor(server.url, concurrency);
      try {
        const level = await runClosedLoop({
          concurrency,
          warmupMs: settings.warmupMs,
          measureMs: settings.measureMs,
          serverPid: server.pid,
          // No body: a plain "I am alive" is the common heartbeat and changes nothing, so it is no event.
          op: (seq) => call(pool, { method: "POST", path: paths[seq % paths.length], token, expect: [200] }),
        });
        levels.push(level);
        log(`  ours heartbeat x${concurrency}: ${Math.round(level.perSecond)}/s p99 ${level.p99.toFixed(1)} ms${level.errors ? ` (${level.errors} errors: ${level.firstError})` : ""}`);
      } finally {
        await pool.close();
      }
    }
    return { services: setup.count, levels, best: best(levels) };
  });
}

const DISCOVERY_PATH =
  `/api/services?capability=${encodeURIComponent(DISCOVERY_FILTER.capability)}` +
  `&tag=${encodeURIComponent(DISCOVERY_FILTER.tag)}&limit=100`;

/** Counts every service matching the discovery filter by paging through it (checks nothing was lost). */
async function countMatches(server, token) {
  const pool = poolFor(server.url, 1);
  let count = 0;
  let cursor = null;
  try {
    for (let page = 0; page < 1000; page++) {
      const path = DISCOVERY_PATH.replace("limit=100", "limit=1000") + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
      const answer = await call(pool, { method: "GET", path, token, expect: [200], parse: true });
      count += answer.services.length;
      cursor = answer.nextCursor;
      if (!cursor) break;
    }
  } finally {
    await pool.close();
  }
  return count;
}

/** 3 and 4. Load 100k services through the API, query them with a filter, then the WebSocket fan-out. */
export function registryDiscoveryAndWatch(settings, log) {
  return withServer({ synchronous: "full" }, log, async (server, token) => {
    const loaded = await registerMany(server, token, {
      count: settings.loadCount,
      concurrency: settings.loadConcurrency,
      maxMs: settings.loadMaxMs,
      // No ttl, like etcd's lease-less load: these services must not expire during the later phases.
      bodyOf: (id, index) => serviceRecordJson({ id, index, ttl: undefined }),
    });
    await sleep(2000);
    let expected = 0;
    for (let index = 0; index < loaded.count; index++) if (matchesDiscovery(index)) expected++;
    const load = {
      count: loaded.count,
      seconds: loaded.seconds,
      perSecond: loaded.perSecond,
      concurrency: settings.loadConcurrency,
      complete: loaded.count === settings.loadCount,
      rssMb: processRssMb(server.pid),
      filterMatches: await countMatches(server, token),
      filterExpected: expected,
    };
    log(`  ours: loaded ${load.count} services in ${load.seconds.toFixed(1)} s (${Math.round(load.perSecond)}/s); filter matches ${load.filterMatches} (expected ${expected})`);

    const discovery = [];
    for (const concurrency of settings.discoveryLevels) {
      const pool = poolFor(server.url, concurrency);
      try {
        const level = await runClosedLoop({
          concurrency,
          warmupMs: settings.warmupMs,
          measureMs: settings.discoveryMs,
          serverPid: server.pid,
          op: async () => {
            const answer = await call(pool, { method: "GET", path: DISCOVERY_PATH, token, expect: [200], parse: true });
            const want = Math.min(100, expected);
            if (answer.services.length !== want) throw new Error(`filtered list returned ${answer.services.length}, expected ${want}`);
          },
        });
        discovery.push(level);
        log(`  ours filtered list x${concurrency}: p50 ${level.p50.toFixed(2)} p99 ${level.p99.toFixed(2)} ms${level.errors ? ` (${level.errors} errors: ${level.firstError})` : ""}`);
      } finally {
        await pool.close();
      }
    }
    // Extra: the unfiltered first page, the exact analogue of etcd's prefix get limit 100.
    const pool = poolFor(server.url, 1);
    let unfiltered;
    try {
      unfiltered = await runClosedLoop({
        concurrency: 1,
        warmupMs: settings.warmupMs,
        measureMs: settings.discoveryMs,
        serverPid: server.pid,
        op: async () => {
          const answer = await call(pool, { method: "GET", path: "/api/services?limit=100", token, expect: [200], parse: true });
          if (answer.services.length !== 100) throw new Error(`list returned ${answer.services.length}`);
        },
      });
    } finally {
      await pool.close();
    }
    // A fan-out failure must not discard the load and discovery figures above.
    let watch;
    try {
      watch = await wsFanout(server, token, settings, log);
    } catch (error) {
      log(`  ours fan-out FAILED: ${error.message}`);
      watch = { error: error.message };
    }
    return { load, discovery, unfiltered, watch };
  });
}
