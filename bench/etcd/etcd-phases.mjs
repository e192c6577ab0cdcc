/**
 * @module bench/etcd/etcd-phases
 * etcd doing the registry's work, as in the baseline: LeaseGrant(ttl 30) + Put-with-lease per
 * registration, keepalive per heartbeat (one-shot `keepaliveOnce` and a shared LeaseKeepAlive
 * stream), a prefix get limit 100 per discovery query over 100k keys, and prefix watchers for fan-out.
 * Each phase group gets a fresh etcd, so expiring leases of one phase do not load the next.
 */
import { randomUUID } from "node:crypto";
import { Etcd3 } from "etcd3";
import { runClosedLoop, best } from "../lib/closed-loop.mjs";
import { processRssMb, windowedCpu } from "../lib/proc-stats.mjs";
import { serviceRecordJson } from "../lib/service-record.mjs";
import { summarize } from "../lib/stats.mjs";
import { sleep } from "../lib/net.mjs";
import { etcdDiskCounters, startEtcd } from "./etcd-process.mjs";

const PREFIX = "/services/";

function client(etcd) {
  return new Etcd3({ hosts: etcd.endpoint });
}

/** Runs `fn(etcd)` on a fresh etcd and always stops it. */
async function withFreshEtcd(binary, fn) {
  const etcd = await startEtcd(binary);
  try {
    return await fn(etcd);
  } finally {
    await etcd.stop();
  }
}

/** 1. Registration: grant a 30 s lease, then put the 600-byte record with it, one after the other. */
export function etcdRegistrations(binary, settings, log) {
  return withFreshEtcd(binary, async (etcd) => {
    const etcdClient = client(etcd);
    const value = serviceRecordJson();
    const levels = [];
    try {
      for (const concurrency of settings.levels) {
        const before = await etcdDiskCounters(etcd.metricsUrl);
        const started = performance.now();
        const level = await runClosedLoop({
          concurrency,
          warmupMs: settings.warmupMs,
          measureMs: settings.measureMs,
          serverPid: etcd.pid,
          op: async () => {
            const lease = etcdClient.lease(30, { autoKeepAlive: false });
            await lease.put(`${PREFIX}${randomUUID()}`).value(value);
          },
        });
        const after = await etcdDiskCounters(etcd.metricsUrl);
        const seconds = (performance.now() - started) / 1000;
        level.fsyncsPerSecond = (after.fsyncs - before.fsyncs) / seconds;
        level.proposalsPerFsync = (after.proposals - before.proposals) / Math.max(1, after.fsyncs - before.fsyncs);
        levels.push(level);
        log(`  etcd registration x${concurrency}: ${Math.round(level.perSecond)}/s p99 ${level.p99.toFixed(1)} ms`);
      }
    } finally {
      etcdClient.close();
    }
    return { levels, best: best(levels) };
  });
}

/** Grants `count` leases of 30 s, 64 at a time, and returns the Lease objects. */
async function grantLeases(etcdClient, count) {
  const leases = [];
  let next = 0;
  async function worker() {
    while (next < count) {
      next++;
      const lease = etcdClient.lease(30, { autoKeepAlive: false });
      await lease.grant();
      leases.push(lease);
    }
  }
  await Promise.all(Array.from({ length: 64 }, worker));
  return leases;
}

/**
 * A shared LeaseKeepAlive stream, the way the Go client renews leases: requests are written with
 * N outstanding and replies matched by lease id (etcd answers each stream in order).
 */
async function sharedKeepAliveStream(etcdClient) {
  const stream = await etcdClient.leaseClient.leaseKeepAlive();
  const waiting = new Map();
  stream.on("data", (response) => {
    const queue = waiting.get(response.ID);
    const settle = queue?.shift();
    if (queue && queue.length === 0) waiting.delete(response.ID);
    if (!settle) return;
    if (Number(response.TTL) <= 0) settle.reject(new Error(`lease ${response.ID} expired`));
    else settle.resolve();
  });
  stream.on("error", (error) => {
    for (const queue of waiting.values()) for (const settle of queue) settle.reject(error);
    waiting.clear();
  });
  return {
    keepalive(id) {
      return new Promise((resolve, reject) => {
        const queue = waiting.get(id) ?? [];
        queue.push({ resolve, reject });
        waiting.set(id, queue);
        stream.write({ ID: id });
      });
    },
    close: () => stream.end(),
  };
}

/** 2. Heartbeats: keepalives round-robin over `heartbeatServices` existing leases. */
export function etcdHeartbeats(binary, settings, log) {
  return withFreshEtcd(binary, async (etcd) => {
    const etcdClient = client(etcd);
    try {
      const leases = await grantLeases(etcdClient, settings.heartbeatServices);
      const ids = await Promise.all(leases.map((lease) => lease.grant()));
      log(`  etcd: ${leases.length} leases granted`);
      const once = [];
      for (const concurrency of settings.levels) {
        const level = await runClosedLoop({
          concurrency,
          warmupMs: settings.warmupMs,
          measureMs: settings.measureMs,
          serverPid: etcd.pid,
          op: (seq) => leases[seq % leases.length].keepaliveOnce(),
        });
        once.push(level);
        log(`  etcd keepaliveOnce x${concurrency}: ${Math.round(level.perSecond)}/s`);
      }
      const shared = [];
      const stream = await sharedKeepAliveStream(etcdClient);
      try {
        for (const concurrency of settings.levels) {
          const level = await runClosedLoop({
            concurrency,
            warmupMs: settings.warmupMs,
            measureMs: settings.measureMs,
            serverPid: etcd.pid,
            op: (seq) => stream.keepalive(ids[seq % ids.length]),
          });
          shared.push(level);
          log(`  etcd shared keepalive stream x${concurrency}: ${Math.round(level.perSecond)}/s`);
        }
      } finally {
        stream.close();
      }
      return { once: { levels: once, best: best(once) }, shared: { levels: shared, best: best(shared) } };
    } finally {
      etcdClient.close();
    }
  });
}

/** Loads `count` 600-byte keys as Txns of `etcdTxnOps` puts, `etcdTxnInFlight` at a time, no leases. */
async function loadKeys(etcdClient, settings) {
  const keys = [];
  for (let i = 0; i < settings.loadCount; i++) keys.push(`${PREFIX}${randomUUID()}`);
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < keys.length) {
      const from = next;
      next += settings.etcdTxnOps;
      const success = keys.slice(from, from + settings.etcdTxnOps).map((key, offset) => ({
        request_put: { key: Buffer.from(key), value: Buffer.from(serviceRecordJson({ index: from + offset, ttl: undefined })) },
      }));
      await etcdClient.kv.txn({ success });
    }
  }
  await Promise.all(Array.from({ length: settings.etcdTxnInFlight }, worker));
  const seconds = (performance.now() - started) / 1000;
  const count = Number(await etcdClient.getAll().prefix(PREFIX).count());
  if (count !== settings.loadCount) throw new Error(`etcd holds ${count} keys under ${PREFIX}, expected ${settings.loadCount}`);
  return { keys, count, seconds, perSecond: count / seconds };
}

/** Fan-out: `clients`×`perClient` prefix watchers, then one put at a time; time until the last watcher fired. */
async function watchFanout(etcd, settings, [clients, perClient], log) {
  const watchClients = Array.from({ length: clients }, () => client(etcd));
  const writer = client(etcd);
  const total = clients * perClient;
  let current = null;
  const watchers = [];
  try {
    for (const watchClient of watchClients) {
      for (let i = 0; i < perClient; i++) {
        const watcher = await watchClient.watch().prefix(PREFIX).create();
        watcher.on("put", (kv) => {
          if (!current || kv.key.toString() !== current.key) return;
          current.times.push(performance.now());
          if (current.times.length === total) current.done();
        });
        watchers.push(watcher);
      }
    }
    const value = serviceRecordJson({ ttl: undefined });
    const all = [];
    const perWatcher = [];
    const first = [];
    let incomplete = 0;
    const cpu = windowedCpu(etcd.pid);
    for (let rep = 0; rep < settings.watchWarmupReps + settings.watchReps; rep++) {
      const key = `${PREFIX}fanout-${randomUUID()}`;
      let done;
      const finished = new Promise((resolve) => (done = resolve));
      current = { key, times: [], done };
      cpu.begin();
      const t0 = performance.now();
      await writer.put(key).value(value);
      const ok = await Promise.race([finished.then(() => true), sleep(settings.watchTimeoutMs).then(() => false)]);
      cpu.end();
      const times = current.times;
      current = null;
      if (rep >= settings.watchWarmupReps) {
        if (!ok) incomplete++;
        else {
          all.push(times[times.length - 1] - t0);
          first.push(times[0] - t0);
          for (const time of times) perWatcher.push(time - t0);
        }
      }
      await sleep(settings.watchGapMs);
    }
    const result = {
      layout: `${clients} client${clients > 1 ? "s" : ""} x ${perClient} watchers`,
      watchers: total,
      reps: all.length,
      incomplete,
      ...summarize(all),
      perWatcher: summarize(perWatcher),
      firstEvent: summarize(first),
      ...cpu.result(),
    };
    log(`  etcd fan-out (${result.layout}): p50 ${result.p50.toFixed(1)} p99 ${result.p99.toFixed(1)} ms`);
    return result;
  } finally {
    await Promise.all(watchers.map((watcher) => watcher.cancel().catch(() => undefined)));
    for (const each of [...watchClients, writer]) each.close();
  }
}

/** 3 and 4. Load 100k keys into a fresh etcd, query it, then watch fan-out on it. */
export function etcdDiscoveryAndWatch(binary, settings, log) {
  return withFreshEtcd(binary, async (etcd) => {
    const etcdClient = client(etcd);
    try {
      const load = await loadKeys(etcdClient, settings);
      await sleep(2000);
      load.rssMb = processRssMb(etcd.pid);
      log(`  etcd: loaded ${load.count} keys in ${load.seconds.toFixed(1)} s (${Math.round(load.perSecond)}/s)`);
      const discovery = [];
      for (const concurrency of settings.discoveryLevels) {
        const level = await runClosedLoop({
          concurrency,
          warmupMs: settings.warmupMs,
          measureMs: settings.discoveryMs,
          serverPid: etcd.pid,
          op: async () => {
            const response = await etcdClient.getAll().prefix(PREFIX).limit(100).exec();
            if (response.kvs.length !== 100) throw new Error(`prefix get returned ${response.kvs.length} keys`);
          },
        });
        discovery.push(level);
        log(`  etcd prefix get limit 100 x${concurrency}: p50 ${level.p50.toFixed(1)} p99 ${level.p99.toFixed(1)} ms`);
      }
      const singleGet = await runClosedLoop({
        concurrency: 1,
        warmupMs: settings.warmupMs,
        measureMs: settings.discoveryMs,
        serverPid: etcd.pid,
        op: async (seq) => {
          const value = await etcdClient.get(load.keys[(seq * 7919) % load.keys.length]).string();
          if (value === null) throw new Error("loaded key missing");
        },
      });
      const watch = [];
      for (const layout of settings.etcdWatchLayouts) {
        try {
          watch.push(await watchFanout(etcd, settings, layout, log));
        } catch (error) {
          log(`  etcd fan-out ${layout.join("x")} FAILED: ${error.message}`);
          watch.push({ layout: `${layout[0]} clients x ${layout[1]} watchers`, error: error.message });
        }
      }
      delete load.keys;
      return { load, discovery, singleGet, watch };
    } finally {
      etcdClient.close();
    }
  });
}

/** Issue 19's bulk-load comparison: etcd's load alone (phase 3's Txns of puts), on a fresh etcd. */
export function etcdLoad(binary, settings, log) {
  return withFreshEtcd(binary, async (etcd) => {
    const etcdClient = client(etcd);
    try {
      const load = await loadKeys(etcdClient, settings);
      delete load.keys;
      log(`  etcd: loaded ${load.count} keys in ${load.seconds.toFixed(1)} s (${Math.round(load.perSecond)}/s; Txns of ${settings.etcdTxnOps} puts, ${settings.etcdTxnInFlight} in flight)`);
      return load;
    } finally {
      etcdClient.close();
    }
  });
}
