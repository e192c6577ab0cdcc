/**
 * @module bench/registry/registry-phases
 * Our registry doing the benchmark's work through its HTTP API: registrations (per durability mode),
 * heartbeats on 10k services, loading 100k services and filtered discovery over them, then the
 * WebSocket fan-out. Like the etcd side, each phase group runs on a fresh server, so the 30 s leases
 * of one phase never expire into the next.
 *
 * A target is where the server keeps its data: `{ kind: "sqlite", synchronous }` (a file in its data dir) or
 * `{ kind: "postgres", pg }` (a fresh database on the bench's PostgreSQL per phase group, dropped after it).
 * On PostgreSQL each level also records the database's commits, WAL fsyncs and WAL volume per second, so the
 * report can say whether a figure is bound by fsyncs, by the batch size or by CPU.
 */
import { randomUUID } from "node:crypto";
import { runClosedLoop, best } from "../lib/closed-loop.mjs";
import { processRssMb } from "../lib/proc-stats.mjs";
import { pgCounters, pgRates } from "../lib/postgres-process.mjs";
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

/** A target's name in logs: `sqlite full`, `postgres`. */
export function targetName(target) {
  return target.kind === "postgres" ? "postgres" : `sqlite ${target.synchronous}`;
}

export async function withServer(target, log, fn) {
  if (target.kind !== "postgres") {
    const server = await startRegistryServer({ synchronous: target.synchronous });
    try {
      const { token, kind } = await clientToken(server, log);
      return await fn(server, token, kind);
    } finally {
      await server.stop();
    }
  }
  const database = await target.pg.createDatabase("registry");
  try {
    const started = await startRegistryServer({ postgresUrl: database.url });
    const server = { ...started, dbPid: target.pg.pid, counters: () => pgCounters(target.pg, database.name), database: database.name };
    try {
      const { token, kind } = await clientToken(server, log);
      return await fn(server, token, kind);
    } finally {
      await server.stop();
    }
  } finally {
    await target.pg.dropDatabase(database.name);
  }
}

/** runClosedLoop with the server's database CPU and, on PostgreSQL, its commit/WAL rates over the level. */
async function measureLevel(server, options) {
  const before = server.counters ? await server.counters() : undefined;
  const started = performance.now();
  const level = await runClosedLoop({ ...options, serverPid: server.pid, dbPid: server.dbPid });
  if (before) {
    const rates = pgRates(before, await server.counters(), (performance.now() - started) / 1000);
    // commitsPerSecond counts every transaction, reads included; WAL fsyncs are what durable writes wait for.
    level.pg = { ...rates, perWalSync: level.perSecond / rates.walSyncsPerSecond };
  }
  return level;
}

/** With BENCH_PG_STAT_STATEMENTS=1: the statements that took the most time in this server's database. */
async function topStatements(target, server) {
  if (target.kind !== "postgres" || !target.pg.statStatements) return undefined;
  const rows = await target.pg.query(
    `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query, calls, round(total_exec_time::numeric, 1) AS total_ms,
            round(mean_exec_time::numeric, 3) AS mean_ms, round(mean_plan_time::numeric, 3) AS mean_plan_ms, plans, rows, round(wal_bytes::numeric / greatest(calls, 1)) AS wal_bytes_per_call
       FROM pg_stat_statements JOIN pg_database d ON d.oid = dbid WHERE d.datname = $1 ORDER BY total_exec_time DESC LIMIT 12`,
    [server.database],
  );
  return rows.map((row) => ({ ...row, calls: Number(row.calls), total_ms: Number(row.total_ms), mean_ms: Number(row.mean_ms), mean_plan_ms: Number(row.mean_plan_ms), plans: Number(row.plans), rows: Number(row.rows) }));
}

const pgNote = (level) =>
  level.pg ? ` [pg: ${Math.round(level.pg.walSyncsPerSecond)} WAL fsyncs/s (${level.pg.perWalSync.toFixed(1)} per fsync), ${Math.round(level.pg.commitsPerSecond)} transactions/s, ${level.pg.walMbPerSecond.toFixed(1)} MB/s WAL]` : "";

/**
 * Registers `count` services with `concurrency` in flight, bounded by `maxMs`. Returns ids and the rate. A failed
 * registration is counted (and its first error kept) rather than ending the load: a 503 in minute three must not
 * void the phase. More than `MAX_LOAD_ERRORS` failures do end it.
 */
const MAX_LOAD_ERRORS = 1000;
async function registerMany(server, token, { count, concurrency, maxMs, bodyOf }) {
  const pool = poolFor(server.url, concurrency, { posts: true });
  const ids = [];
  let next = 0;
  let errors = 0;
  let firstError;
  const errorTimes = [];
  const started = performance.now();
  const deadline = started + maxMs;
  async function worker() {
    while (next < count && performance.now() < deadline) {
      const index = next++;
      const id = `svc-${randomUUID()}`;
      try {
        await call(pool, { method: "POST", path: REGISTER, token, body: bodyOf(id, index), expect: [201] });
        ids.push({ index, id });
      } catch (error) {
        errors++;
        firstError ??= error.message;
        if (errorTimes.length < 20) errorTimes.push(Math.round((performance.now() - started) / 100) / 10);
        if (errors > MAX_LOAD_ERRORS) throw new Error(`${errors} failed registrations while loading; first: ${firstError}`);
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await pool.close();
  }
  const seconds = (performance.now() - started) / 1000;
  ids.sort((a, b) => a.index - b.index);
  return { ids: ids.map((each) => each.id), indexes: ids.map((each) => each.index), count: ids.length, seconds, perSecond: ids.length / seconds, errors, firstError, errorSeconds: errorTimes };
}

/** 1. Registrations, closed loop per level, on a fresh server on the given target. */
export function registryRegistrations(settings, target, log) {
  const name = targetName(target);
  return withServer(target, log, async (server, token, tokenKind) => {
    const levels = [];
    for (const concurrency of settings.levels) {
      const pool = poolFor(server.url, concurrency, { posts: true });
      try {
        const level = await measureLevel(server, {
          concurrency,
          warmupMs: settings.warmupMs,
          measureMs: settings.measureMs,
          op: () => call(pool, { method: "POST", path: REGISTER, token, body: serviceRecordJson(), expect: [201] }),
        });
        levels.push(level);
        log(`  ours (${name}) registration x${concurrency}: ${Math.round(level.perSecond)}/s p99 ${level.p99.toFixed(1)} ms${level.errors ? ` (${level.errors} errors: ${level.firstError})` : ""}${pgNote(level)}`);
      } finally {
        await pool.close();
      }
    }
    const statements = await topStatements(target, server);
    return { synchronous: target.kind === "postgres" ? "postgres" : target.synchronous, tokenKind, levels, best: best(levels), ...(statements ? { statements } : {}) };
  });
}

/** 2. Heartbeats round-robin over `heartbeatServices` registered services (ttl 30). */
export function registryHeartbeats(settings, log, target = { kind: "sqlite", synchronous: "full" }) {
  const name = targetName(target);
  return withServer(target, log, async (server, token) => {
    const setup = await registerMany(server, token, {
      count: settings.heartbeatServices,
      concurrency: 64,
      maxMs: 120_000,
      bodyOf: (id, index) => serviceRecordJson({ id, index }),
    });
    log(`  ours (${name}): ${setup.count} services registered for heartbeats (${Math.round(setup.perSecond)}/s)${setup.errors ? `, ${setup.errors} failed (${setup.firstError})` : ""}`);
    const paths = setup.ids.map((id) => `/api/services/${encodeURIComponent(id)}/heartbeat`);
    const levels = [];
    for (const concurrency of settings.levels) {
      const pool = poolFor(server.url, concurrency, { posts: true });
      try {
        const level = await measureLevel(server, {
          concurrency,
          warmupMs: settings.warmupMs,
          measureMs: settings.measureMs,
          // No body: a plain "I am alive" is the common heartbeat and changes nothing, so it is no event.
          op: (seq) => call(pool, { method: "POST", path: paths[seq % paths.length], token, expect: [200] }),
        });
        levels.push(level);
        log(`  ours (${name}) heartbeat x${concurrency}: ${Math.round(level.perSecond)}/s p99 ${level.p99.toFixed(1)} ms${level.errors ? ` (${level.errors} errors: ${level.firstError})` : ""}${pgNote(level)}`);
      } finally {
        await pool.close();
      }
    }
    return { services: setup.count, setupPerSecond: setup.perSecond, levels, best: best(levels) };
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
export function registryDiscoveryAndWatch(settings, log, target = { kind: "sqlite", synchronous: "full" }) {
  const name = targetName(target);
  return withServer(target, log, async (server, token) => {
    const loaded = await registerMany(server, token, {
      count: settings.loadCount,
      concurrency: settings.loadConcurrency,
      maxMs: settings.loadMaxMs,
      // No ttl, like etcd's lease-less load: these services must not expire during the later phases.
      bodyOf: (id, index) => serviceRecordJson({ id, index, ttl: undefined }),
    });
    await sleep(2000);
    let expected = 0;
    for (const index of loaded.indexes) if (matchesDiscovery(index)) expected++;
    const load = {
      count: loaded.count,
      seconds: loaded.seconds,
      perSecond: loaded.perSecond,
      concurrency: settings.loadConcurrency,
      complete: loaded.count === settings.loadCount,
      errors: loaded.errors,
      firstError: loaded.firstError,
      errorSeconds: loaded.errorSeconds,
      rssMb: processRssMb(server.pid),
      filterMatches: await countMatches(server, token),
      filterExpected: expected,
    };
    if (target.kind === "postgres") {
      // Whether autovacuum has analyzed the fresh tables yet decides the plan of the filtered query (see docs/benchmarks.md).
      load.plannerStats = await target.pg.query(
        `SELECT relname, n_live_tup::int, n_mod_since_analyze::int, last_autoanalyze IS NOT NULL AS analyzed, last_autovacuum IS NOT NULL AS vacuumed
           FROM pg_stat_user_tables WHERE relname IN ('services', 'service_tags', 'service_capabilities') ORDER BY relname`,
        [],
        server.database,
      );
    }
    if (load.errors) log(`  ours (${name}): ${load.errors} registrations FAILED while loading (first: ${load.firstError}; at ${load.errorSeconds.join(", ")} s)`);
    log(`  ours (${name}): loaded ${load.count} services in ${load.seconds.toFixed(1)} s (${Math.round(load.perSecond)}/s); filter matches ${load.filterMatches} (expected ${expected})`);

    const discovery = [];
    for (const concurrency of settings.discoveryLevels) {
      const pool = poolFor(server.url, concurrency);
      try {
        const level = await measureLevel(server, {
          concurrency,
          warmupMs: settings.warmupMs,
          measureMs: settings.discoveryMs,
          op: async () => {
            const answer = await call(pool, { method: "GET", path: DISCOVERY_PATH, token, expect: [200], parse: true });
            const want = Math.min(100, expected);
            if (answer.services.length !== want) throw new Error(`filtered list returned ${answer.services.length}, expected ${want}`);
          },
        });
        discovery.push(level);
        log(`  ours (${name}) filtered list x${concurrency}: p50 ${level.p50.toFixed(2)} p99 ${level.p99.toFixed(2)} ms${level.errors ? ` (${level.errors} errors: ${level.firstError})` : ""}`);
      } finally {
        await pool.close();
      }
    }
    // Extra: the unfiltered first page, the exact analogue of etcd's prefix get limit 100.
    const pool = poolFor(server.url, 1);
    let unfiltered;
    try {
      unfiltered = await measureLevel(server, {
        concurrency: 1,
        warmupMs: settings.warmupMs,
        measureMs: settings.discoveryMs,
        op: async () => {
          const answer = await call(pool, { method: "GET", path: "/api/services?limit=100", token, expect: [200], parse: true });
          if (answer.services.length !== 100) throw new Error(`list returned ${answer.services.length}`);
        },
      });
    } finally {
      await pool.close();
    }
    // PostgreSQL extra: the same 1-in-flight query once the planner has fresh statistics (an explicit ANALYZE).
    let afterAnalyze;
    if (target.kind === "postgres") {
      await target.pg.query("ANALYZE", [], server.database);
      const analyzed = poolFor(server.url, 1);
      try {
        afterAnalyze = await measureLevel(server, {
          concurrency: 1,
          warmupMs: settings.warmupMs,
          measureMs: settings.discoveryMs,
          op: async () => {
            const answer = await call(analyzed, { method: "GET", path: DISCOVERY_PATH, token, expect: [200], parse: true });
            if (answer.services.length !== Math.min(100, expected)) throw new Error(`filtered list returned ${answer.services.length}`);
          },
        });
        log(`  ours (${name}) filtered list x1 after ANALYZE: p50 ${afterAnalyze.p50.toFixed(2)} p99 ${afterAnalyze.p99.toFixed(2)} ms`);
      } finally {
        await analyzed.close();
      }
    }
    // A fan-out failure must not discard the load and discovery figures above.
    let watch;
    try {
      watch = await wsFanout(server, token, settings, log);
    } catch (error) {
      log(`  ours (${name}) fan-out FAILED: ${error.message}`);
      watch = { error: error.message };
    }
    // Issue 19: the same subscribers multiplexed on a few connections (named subscriptions), as etcd's clients share streams.
    let watchMux;
    try {
      watchMux = await wsFanout(server, token, settings, log, settings.watchMuxLayout);
    } catch (error) {
      log(`  ours (${name}) multiplexed fan-out FAILED: ${error.message}`);
      watchMux = { error: error.message };
    }
    return { load, discovery, unfiltered, ...(afterAnalyze ? { afterAnalyze } : {}), watch, watchMux };
  });
}
