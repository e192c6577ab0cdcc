/**
 * @module bench/registry/ws-fanout
 * Watch fan-out: `watchSubscribers` WebSocket subscribers on /ws/registry, spread over worker
 * threads (one Node thread decoding 1,000 events would be the bottleneck, not the server), then ONE
 * registration at a time; the figure is the time from just before the request until the last
 * subscriber has the event. Subscribers filter on a capability only fan-out services carry, so each
 * one's first snapshot stays small even with 100k services present.
 */
import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import { windowedCpu } from "../lib/proc-stats.mjs";
import { WATCH_CAPABILITY, serviceRecordJson } from "../lib/service-record.mjs";
import { summarize } from "../lib/stats.mjs";
import { sleep } from "../lib/net.mjs";
import { call, poolFor } from "./http-client.mjs";

const WORKER = new URL("./ws-fanout-worker.mjs", import.meta.url);

function nowNs(baseNs) {
  return Number(process.hrtime.bigint() - baseNs);
}

/**
 * `layout` [connections, subscriptions per connection] multiplexes named subscriptions on fewer sockets (the issue-19
 * layout, beside etcd's 10 clients × 100 watchers); without it, one socket per subscriber.
 */
export async function wsFanout(server, token, settings, log, layout) {
  const baseNs = process.hrtime.bigint();
  const [connections, perSocket] = layout ?? [settings.watchSubscribers, 1];
  const subscribers = connections * perSocket;
  const workerCount = Math.min(settings.watchWorkers, connections);
  // Each worker gets whole sockets: its share of subscriptions is a multiple of `perSocket`.
  const shares = Array.from({ length: workerCount }, (_, i) =>
    (Math.floor(connections / workerCount) + (i < connections % workerCount ? 1 : 0)) * perSocket);
  const wsUrl = `${server.url.replace(/^http/, "ws")}/ws/registry`;
  const pending = new Map(); // id -> { waiting, times[], done }
  const problems = [];
  const workers = shares.map(
    (count) => new Worker(WORKER, { workerData: { wsUrl, token, count, perSocket, capability: WATCH_CAPABILITY, baseNs: String(baseNs), connectBatch: 50 } }),
  );
  const ready = workers.map(
    (worker) =>
      new Promise((resolve, reject) => {
        worker.on("message", (message) => {
          if (message.type === "ready") resolve();
          else if (message.type === "error") {
            problems.push(message.message);
            reject(new Error(message.message));
          } else if (message.type === "received") {
            const entry = pending.get(message.id);
            if (!entry) return;
            entry.times.push(...message.times);
            if (--entry.waiting === 0) entry.done();
          }
        });
        worker.once("error", reject);
      }),
  );
  const pool = poolFor(server.url, 1);
  try {
    const connectStarted = performance.now();
    await Promise.race([Promise.all(ready), sleep(60_000).then(() => Promise.reject(new Error("subscribers not ready within 60 s")))]);
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    log(`  ours: ${subscribers} subscribers on ${connections} WebSockets ready in ${connectSeconds.toFixed(1)} s (${shares.join("+")} over ${workerCount} worker threads)`);

    const all = [];
    const perSubscriber = [];
    const first = [];
    const spread = [];
    const requestMs = [];
    let incomplete = 0;
    const cpu = windowedCpu(server.pid, server.dbPid);
    for (let rep = 0; rep < settings.watchWarmupReps + settings.watchReps; rep++) {
      const id = `fanout-${randomUUID()}`;
      let done;
      const finished = new Promise((resolve) => (done = resolve));
      pending.set(id, { waiting: workerCount, times: [], done });
      const body = serviceRecordJson({ id, ttl: undefined, extraCapabilities: [WATCH_CAPABILITY] });
      cpu.begin();
      const t0 = nowNs(baseNs);
      await call(pool, { method: "POST", path: "/api/services/register", token, body, expect: [201] });
      const acknowledged = nowNs(baseNs);
      const ok = await Promise.race([finished.then(() => true), sleep(settings.watchTimeoutMs).then(() => false)]);
      cpu.end();
      const { times } = pending.get(id);
      pending.delete(id);
      if (rep >= settings.watchWarmupReps) {
        if (!ok) incomplete++;
        else {
          const ms = times.map((t) => (t - t0) / 1e6);
          all.push(Math.max(...ms));
          first.push(Math.min(...ms));
          // The fan-out itself: from the first subscriber having the change to the last (the request's own commit excluded).
          spread.push(Math.max(...ms) - Math.min(...ms));
          perSubscriber.push(...ms);
          requestMs.push((acknowledged - t0) / 1e6);
        }
      }
      await sleep(settings.watchGapMs);
    }
    const anomalies = await Promise.all(
      workers.map(
        (worker) =>
          new Promise((resolve) => {
            const onStats = (message) => {
              if (message.type !== "stats") return;
              worker.off("message", onStats);
              resolve(message.anomalies);
            };
            worker.on("message", onStats);
            worker.postMessage({ type: "stats" });
          }),
      ),
    );
    const sum = (key) => anomalies.reduce((total, each) => total + each[key], 0);
    const result = {
      layout: perSocket === 1
        ? `${subscribers} WebSockets over ${workerCount} worker threads (${shares.join("+")})`
        : `${subscribers} subscriptions on ${connections} WebSockets (${perSocket} each) over ${workerCount} worker threads`,
      subscribers,
      connections,
      perConnection: perSocket,
      connectSeconds,
      reps: all.length,
      incomplete,
      ...summarize(all),
      perSubscriber: summarize(perSubscriber),
      firstEvent: summarize(first),
      spread: summarize(spread),
      registerRequest: summarize(requestMs),
      lagSnapshots: sum("snapshots"),
      streamErrors: sum("errors") + problems.length,
      ...cpu.result(),
    };
    log(`  ours fan-out: p50 ${result.p50.toFixed(1)} p99 ${result.p99.toFixed(1)} max ${result.max.toFixed(1)} ms${incomplete ? ` (${incomplete} incomplete)` : ""}; first subscriber p50 ${result.firstEvent.p50.toFixed(1)} p99 ${result.firstEvent.p99.toFixed(1)} ms; first to last p50 ${result.spread.p50.toFixed(1)} p99 ${result.spread.p99.toFixed(1)} ms`);
    return result;
  } finally {
    await pool.close();
    for (const worker of workers) worker.postMessage({ type: "close" });
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
