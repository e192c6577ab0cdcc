/**
 * @module bench/cluster/cluster-phases
 * Two `kai serve` instances on one PostgreSQL acting as one node (issue 13): how fast a change made on A
 * shows on B's `/ws/registry` stream, and how fast leadership moves after `kill -9` of the leader.
 *
 * Both instances run with the server's DEFAULT cluster settings (heartbeatMs 1000, memberTimeoutMs 5000,
 * pollIntervalMs 2000), each with its own data dir and port, the same KAI_VAULT_PASSPHRASE and one shared
 * vault.keyDir, on a fresh database of the bench's PostgreSQL (durable settings: fsync and synchronous_commit on).
 *
 * a. Changes: at a steady pace (open loop, `clusterChangesPerSecond`), alternately a registration of a new
 *    service and a PATCH of an existing one on A, each carrying a sequence number in its metadata. Watch
 *    streams on B and on A (filtered on a capability only these services carry) timestamp each arrival;
 *    the figures are arrival − just-before-the-request. A→A is the same instance's stream: the difference
 *    A→B − A→A is what crossing instances costs (NOTIFY, B reading the event log, B's fan-out).
 * b. Failover, `failoverReps` times: find the leader with GET /api/cluster, `kill -9` it, poll the survivor's
 *    GET /api/cluster every 25 ms until it names itself leader with a higher epoch. Meanwhile the survivor
 *    takes a registration every 50 ms (does it keep serving writes?), and a lease registered on it with
 *    ttl 1 s — due (ttl + the cluster's expiry grace) 300 ms after the kill — shows when lease sweeps run
 *    again. The killed instance is restarted (fresh data dir, same database) before the next repetition.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { serviceRecordJson } from "../lib/service-record.mjs";
import { summarize } from "../lib/stats.mjs";
import { sleep } from "../lib/net.mjs";
import { BENCH_VAULT_PASSPHRASE, postgresConfigYaml, startKaiServe } from "../registry/server-process.mjs";

/** The server's defaults, written out so that the report can say what it measured (config-schema.ts). */
export const CLUSTER_DEFAULTS = { heartbeatMs: 1000, memberTimeoutMs: 5000, pollIntervalMs: 2000, heartbeatFlushMs: 1000, sweepIntervalMs: 250 };
/** A lease is expired in a cluster only once overdue by 2 × heartbeatFlushMs + pollIntervalMs (server.ts). */
const CLUSTER_EXPIRY_GRACE_MS = 2 * CLUSTER_DEFAULTS.heartbeatFlushMs + CLUSTER_DEFAULTS.pollIntervalMs;
const CHANGE_CAPABILITY = "bench_cluster";
const LEASE_CAPABILITY = "bench_cluster_lease";
const LEASE_TTL_SECONDS = 1;
/** The lease falls due this long after the kill: sweeps that run again sooner cannot expire it earlier. */
const LEASE_DUE_AFTER_KILL_MS = 300;

async function api(server, path, { method = "GET", token = server.adminToken, body, timeoutMs = 5000 } = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

async function waitFor(what, probe, timeoutMs = 60_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

/** A watch stream: `onEvent(message, at)` for every event; resolves once the first snapshot arrived. */
function watch(server, token, capability, onEvent) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${server.url.replace(/^http/, "ws")}/ws/registry`, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    const stream = { socket, snapshots: 0, errors: 0, close: () => socket.terminate() };
    socket.once("open", () => socket.send(JSON.stringify({ type: "subscribe", filter: { capability: [capability] } })));
    socket.once("error", reject);
    socket.on("message", (data) => {
      const at = performance.now();
      const message = JSON.parse(data.toString());
      if (message.type === "snapshot") {
        if (stream.snapshots++ === 0) resolve(stream);
      } else if (message.type === "event") onEvent(message, at);
      else if (message.type === "error") stream.errors++;
    });
  });
}

/** Starts one instance of the node; resolves once it is ready (vault unlocked, caught up). */
async function startInstance(name, config) {
  const server = await startKaiServe({ name: `cluster-${name}`, config, env: { KAI_VAULT_PASSPHRASE: BENCH_VAULT_PASSPHRASE, KAI_INSTANCE_NAME: name } });
  try {
    await waitFor(`${name} ready`, async () => (await fetch(`${server.url}/readyz`)).ok);
    const self = await api(server, "/api/cluster");
    return { name, server, id: self.instance.id };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Both instances listed as alive by `observer`, with a leader among them. */
function bothAlive(observer, instances) {
  return waitFor("two live instances and a leader", async () => {
    const cluster = await api(observer.server, "/api/cluster");
    const ids = new Set(cluster.instances.map((each) => each.id));
    return instances.every((each) => ids.has(each.id)) && cluster.leader && instances.some((each) => each.id === cluster.leader.instanceId) ? cluster : undefined;
  });
}

/** a. Changes on A timed until B's (and A's) watch stream delivers them. */
async function changeLatency(a, b, token, settings, log) {
  const sent = new Map(); // seq -> t0
  const acked = new Map(); // seq -> ms
  const arrivals = { a: new Map(), b: new Map() };
  const revisions = { a: [], b: [] };
  const onEvent = (side) => (message, at) => {
    const seq = message.service?.metadata?.benchSeq;
    if (typeof seq !== "number") return;
    revisions[side].push(message.revision);
    if (!arrivals[side].has(seq)) arrivals[side].set(seq, at);
  };
  const onB = await watch(b.server, token, CHANGE_CAPABILITY, onEvent("b"));
  const onA = await watch(a.server, token, CHANGE_CAPABILITY, onEvent("a"));
  const errors = [];
  try {
    // Services to PATCH: an update of an existing record is the other common change. A PATCH reads the record and
    // commits against its revision, so two PATCHes of one service at once would make one answer 409 (retry):
    // each target takes one PATCH at a time, and a change that finds no free target registers a service instead.
    const targets = [];
    for (let i = 0; i < 16; i++) {
      const id = `cluster-${randomUUID()}`;
      await api(a.server, "/api/services/register", { method: "POST", token, body: serviceRecordJson({ id, ttl: undefined, extraCapabilities: [CHANGE_CAPABILITY] }) });
      targets.push(id);
    }
    const busy = new Set();
    let nextTarget = 0;
    const freeTarget = () => {
      for (let tried = 0; tried < targets.length; tried++) {
        const id = targets[nextTarget++ % targets.length];
        if (!busy.has(id)) return id;
      }
      return undefined;
    };
    const total = settings.clusterWarmupChanges + settings.clusterChanges;
    const gapMs = 1000 / settings.clusterChangesPerSecond;
    const started = performance.now();
    const inFlight = [];
    for (let seq = 0; seq < total; seq++) {
      const due = started + seq * gapMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const target = seq % 2 === 1 ? freeTarget() : undefined;
      const change = target
        ? { method: "PATCH", path: `/api/services/${target}`, body: JSON.stringify({ metadata: { benchSeq: seq } }) }
        : { method: "POST", path: "/api/services/register", body: withSeq(serviceRecordJson({ ttl: undefined, extraCapabilities: [CHANGE_CAPABILITY] }), seq) };
      if (target) busy.add(target);
      const t0 = performance.now();
      sent.set(seq, t0);
      inFlight.push(
        api(a.server, change.path, { method: change.method, token, body: change.body })
          .then(
            () => acked.set(seq, performance.now() - t0),
            (error) => errors.push(error.message),
          )
          .finally(() => busy.delete(target)),
      );
    }
    await Promise.all(inFlight);
    const pace = total / ((performance.now() - started) / 1000);
    await waitFor("every change on both streams", () => arrivals.b.size >= total - errors.length && arrivals.a.size >= total - errors.length, 10_000, 50).catch(() => undefined);
    const measured = (side) => {
      const samples = [];
      for (const [seq, t0] of sent) if (seq >= settings.clusterWarmupChanges && arrivals[side].has(seq)) samples.push(arrivals[side].get(seq) - t0);
      return summarize(samples);
    };
    const ackSamples = [...acked].filter(([seq]) => seq >= settings.clusterWarmupChanges).map(([, ms]) => ms);
    const ordered = (list) => list.every((revision, index) => index === 0 || revision > list[index - 1]);
    const result = {
      changes: settings.clusterChanges,
      perSecond: pace,
      aToB: measured("b"),
      aToA: measured("a"),
      ack: summarize(ackSamples),
      missingOnB: total - errors.length - arrivals.b.size,
      missingOnA: total - errors.length - arrivals.a.size,
      inRevisionOrder: ordered(revisions.b) && ordered(revisions.a),
      requestErrors: errors.length,
      firstError: errors[0],
      streamSnapshots: onA.snapshots + onB.snapshots - 2,
    };
    log(`  A→B p50 ${result.aToB.p50.toFixed(1)} p99 ${result.aToB.p99.toFixed(1)} ms; A→A p50 ${result.aToA.p50.toFixed(1)} p99 ${result.aToA.p99.toFixed(1)} ms; ack p50 ${result.ack.p50.toFixed(1)} ms (${Math.round(pace)} changes/s, missing on B ${result.missingOnB}, errors ${errors.length})`);
    return result;
  } finally {
    onA.close();
    onB.close();
  }
}

/** A registration body with `metadata.benchSeq` set (the sequence number the streams match on). */
function withSeq(json, seq) {
  const record = JSON.parse(json);
  record.metadata = { ...record.metadata, benchSeq: seq };
  return JSON.stringify(record);
}

/** Registrations on `server` every 50 ms until `stop()`: latency and failures while leadership moves. */
function writeProbe(server, token) {
  const latencies = [];
  const failures = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        await api(server, "/api/services/register", { method: "POST", token, body: serviceRecordJson({ ttl: undefined }), timeoutMs: 10_000 });
        latencies.push(performance.now() - t0);
      } catch (error) {
        failures.push(error.message);
      }
      await sleep(50);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { ok: latencies.length, failed: failures.length, firstFailure: failures[0], ...summarize(latencies) };
    },
  };
}

/** b. One kill -9 of the leader; returns the timings and the instance that died. */
async function failoverOnce(instances, token, settings, log) {
  const cluster = await bothAlive(instances[0], instances);
  const leader = instances.find((each) => each.id === cluster.leader.instanceId);
  const survivor = instances.find((each) => each !== leader);
  const epochBefore = cluster.leader.epoch;

  // The lease: registered on the survivor, due LEASE_DUE_AFTER_KILL_MS after the kill.
  const leaseId = `lease-${randomUUID()}`;
  const offline = [];
  const leaseStream = await watch(survivor.server, token, LEASE_CAPABILITY, (message, at) => {
    if (message.serviceId === leaseId && message.event === "status_changed" && message.service?.status === "offline") offline.push(at);
  });
  const registeredAt = performance.now();
  await api(survivor.server, "/api/services/register", {
    method: "POST",
    token,
    body: serviceRecordJson({ id: leaseId, ttl: LEASE_TTL_SECONDS, extraCapabilities: [LEASE_CAPABILITY] }),
  });
  const leaseDueAt = registeredAt + LEASE_TTL_SECONDS * 1000 + CLUSTER_EXPIRY_GRACE_MS;
  await sleep(Math.max(0, leaseDueAt - LEASE_DUE_AFTER_KILL_MS - performance.now()));

  const writes = writeProbe(survivor.server, token);
  const t0 = performance.now();
  await leader.server.kill();
  const killedMs = performance.now() - t0;

  let leaderChangedMs; // the survivor no longer names the dead leader (null, or itself)
  let newLeaderMs; // the survivor names itself leader with a higher epoch
  let memberGoneMs; // the dead instance left the survivor's instance list (memberTimeoutMs)
  let epochAfter;
  let pollErrors = 0;
  const deadline = t0 + settings.failoverTimeoutMs;
  while (performance.now() < deadline && (newLeaderMs === undefined || memberGoneMs === undefined)) {
    try {
      const view = await api(survivor.server, "/api/cluster", { timeoutMs: 2000 });
      const at = performance.now() - t0;
      if (leaderChangedMs === undefined && view.leader?.instanceId !== leader.id) leaderChangedMs = at;
      if (newLeaderMs === undefined && view.leader?.instanceId === survivor.id && view.leader.epoch > epochBefore) {
        newLeaderMs = at;
        epochAfter = view.leader.epoch;
      }
      if (memberGoneMs === undefined && !view.instances.some((each) => each.id === leader.id)) memberGoneMs = at;
    } catch {
      pollErrors++;
    }
    await sleep(25);
  }
  await waitFor("the lease's expiry", () => offline.length > 0, 15_000, 50).catch(() => undefined);
  await sleep(1000); // a second sweep or two: an expiry swept twice would show as a second event
  const writeFigures = await writes.stop();
  leaseStream.close();

  const result = {
    killed: leader.name,
    survivor: survivor.name,
    epochBefore,
    epochAfter,
    killedMs,
    leaderChangedMs,
    newLeaderMs,
    memberGoneMs,
    pollErrors,
    lease: {
      dueAfterKillMs: leaseDueAt - t0,
      expiredAfterKillMs: offline.length ? offline[0] - t0 : undefined,
      offlineEvents: offline.length,
    },
    writesDuringFailover: writeFigures,
  };
  const fmt = (ms) => (ms === undefined ? "never" : `${(ms / 1000).toFixed(2)} s`);
  log(
    `  kill -9 ${leader.name} (epoch ${epochBefore}): ${survivor.name} leads (epoch ${epochAfter ?? "?"}) after ${fmt(newLeaderMs)}; ` +
      `dead member dropped after ${fmt(memberGoneMs)}; lease due at ${fmt(result.lease.dueAfterKillMs)} expired at ${fmt(result.lease.expiredAfterKillMs)} ` +
      `(${offline.length} event${offline.length === 1 ? "" : "s"}); writes on ${survivor.name}: ${writeFigures.ok} ok, ${writeFigures.failed} failed, max ${writeFigures.max?.toFixed?.(0)} ms`,
  );
  return { result, dead: leader };
}

/**
 * The whole two-instance benchmark on the bench's PostgreSQL `pg` (a fresh database, dropped afterwards).
 * @returns {Promise<object>} the figures (see the module comment)
 */
export async function clusterBench(pg, settings, log) {
  const database = await pg.createDatabase("cluster");
  const keyDir = mkdtempSync(join(tmpdir(), "kai-bench-keys-"));
  const config = postgresConfigYaml(database.url, ["vault:", `  keyDir: ${JSON.stringify(keyDir)}`]);
  const instances = [];
  try {
    // One after the other: the first creates the schema, the vault and the node key; the second joins.
    instances.push(await startInstance("a", config));
    instances.push(await startInstance("b", config));
    await bothAlive(instances[0], instances);
    const created = await api(instances[0].server, "/api/tokens", {
      method: "POST",
      body: JSON.stringify({ scopes: ["services:read", "services:write", "services:heartbeat"], owner: "bench", ttl: "1d", name: "bench" }),
    });
    const token = created.token;
    log(`  two instances on ${database.name}: a ${instances[0].server.url}, b ${instances[1].server.url} (default cluster settings)`);

    let changes;
    try {
      changes = await changeLatency(instances[0], instances[1], token, settings, log);
    } catch (error) {
      log(`  change latency FAILED: ${error.message}`);
      changes = { error: error.message };
    }

    const failovers = [];
    for (let rep = 0; rep < settings.failoverReps; rep++) {
      const { result, dead } = await failoverOnce(instances, token, settings, log);
      failovers.push(result);
      // Bring the dead one back as a fresh process, so the next repetition again has two instances.
      await dead.server.stop();
      instances.splice(instances.indexOf(dead), 1, await startInstance(`${dead.name.replace(/\d+$/, "")}${rep + 2}`, config));
      await bothAlive(instances[0], instances);
    }
    return { defaults: CLUSTER_DEFAULTS, expiryGraceMs: CLUSTER_EXPIRY_GRACE_MS, leaseTtlSeconds: LEASE_TTL_SECONDS, changes, failovers };
  } finally {
    await Promise.allSettled(instances.map((each) => each.server.stop()));
    rmSync(keyDir, { recursive: true, force: true });
    await pg.dropDatabase(database.name);
  }
}
