/**
 * @module bench/klp
 * `node bench/klp.mjs` (after `npm run build`): KLP and federation figures (issue 5).
 * 1. Envelope sign and verify per second, in process: `createEnvelope` (JCS + Ed25519) and the receiver's
 *    whole acceptance pipeline (`acceptText`: parse, schema, signature, staleness, replay), each next to the
 *    bare node:crypto Ed25519 sign/verify of the same bytes measured in the same run (the floor).
 * 2. Federation convergence over three `kai serve` processes on loopback (SQLite, synchronous=full):
 *    a. live: two peers already subscribed to the origin; 10,000 records registered on the origin (64 in
 *       flight); time until all are discoverable on both peers (from the first registration, and after the
 *       last one was acknowledged);
 *    b. join: a new peer added to an origin that already holds them: time until it has all 10,000;
 *    c. one change: a record updated on the origin, time until each peer's /ws/registry (location=remote)
 *       shows it, p50/p99 over sequential changes.
 * Prints figures only; CI never runs it. BENCH_QUICK=1 for smaller sizes.
 */
import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify } from "node:crypto";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import WebSocket from "ws";
import { summarize, round } from "./lib/stats.mjs";
import { startNode } from "./klp/node-process.mjs";
import { registryUnavailable } from "./registry/server-process.mjs";

const PROTOCOL = fileURLToPath(new URL("../packages/protocol/dist/index.js", import.meta.url));
if (!existsSync(PROTOCOL) || registryUnavailable()) {
  process.stderr.write("bench/klp: the packages are not built (run npm run build)\n");
  process.exit(1);
}
const { klp } = await import(PROTOCOL);

const quick = process.env.BENCH_QUICK === "1";
const RECORDS = quick ? 1000 : 10_000;
const CHANGES = quick ? 50 : 200;
const log = (message) => process.stdout.write(`${message}\n`);
const perSecond = (count, ms) => Math.round((count / ms) * 1000);

function timeLoop(seconds, fn) {
  const end = performance.now() + seconds * 1000;
  let count = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) fn(i);
    count += 100;
  }
  return perSecond(count, performance.now() - start);
}

async function signVerify() {
  log("1. envelope sign/verify (in process, one core)");
  const sender = klp.generateKeyPair();
  const receiver = klp.generateKeyPair();
  const payload = { status: "ok", uptimeSeconds: 1234 };
  const signOps = timeLoop(2, () => klp.createEnvelope({ type: "heartbeat", to: receiver.did, payload }, sender));
  const envelopes = Array.from({ length: 50_000 }, () => JSON.stringify(klp.createEnvelope({ type: "heartbeat", to: receiver.did, payload }, sender)));
  let next = 0;
  const verifyOps = timeLoop(2, () => klp.verifyEnvelope(JSON.parse(envelopes[next++ % envelopes.length])));
  // The whole acceptance pipeline, each message fresh (a replay would be refused early and cheaply).
  const context = { replayCache: new klp.ReplayCache({ maxIdsPerSender: 100_000 }), recipientExists: () => true };
  const accepted = envelopes.slice(0, 20_000);
  const acceptStart = performance.now();
  let ok = 0;
  for (const text of accepted) if ((await klp.acceptText(text, context)).ok) ok++;
  const acceptOps = perSecond(accepted.length, performance.now() - acceptStart);
  if (ok !== accepted.length) throw new Error(`only ${ok} of ${accepted.length} envelopes were accepted`);
  // The floor: raw Ed25519 over bytes of the same size as one envelope's signing input.
  const key = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(sender.secretKey)]), format: "der", type: "pkcs8" });
  const pub = createPublicKey(key);
  const bytes = Buffer.from(JSON.stringify(klp.createEnvelope({ type: "heartbeat", to: receiver.did, payload }, sender)));
  const sig = edSign(null, bytes, key);
  const rawSign = timeLoop(2, () => edSign(null, bytes, key));
  const rawVerify = timeLoop(2, () => edVerify(null, bytes, pub, sig));
  log(`   sign (createEnvelope)        ${signOps.toLocaleString("en")}/s  = ${round(signOps / rawSign)}x raw Ed25519 sign (${rawSign.toLocaleString("en")}/s)`);
  log(`   verify (verifyEnvelope)      ${verifyOps.toLocaleString("en")}/s  = ${round(verifyOps / rawVerify)}x raw Ed25519 verify (${rawVerify.toLocaleString("en")}/s)`);
  log(`   accept (all 7 rules)         ${acceptOps.toLocaleString("en")}/s`);
  return { signPerSecond: signOps, verifyPerSecond: verifyOps, acceptPerSecond: acceptOps, rawSignPerSecond: rawSign, rawVerifyPerSecond: rawVerify };
}

const agent = new Agent({ connections: 64, pipelining: 1 });
async function api(node, method, path, body) {
  const response = await request(node.url + path, {
    method,
    dispatcher: agent,
    headers: { authorization: `Bearer ${node.token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.body.text();
  if (response.statusCode >= 300) throw new Error(`${method} ${path}: ${response.statusCode} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

const record = (i) => ({ id: `fed-${i}`, name: `federated ${i}`, capabilities: ["llm_chat"], tags: [`shard-${i % 16}`], url: "http://127.0.0.1:9/", visibility: "public" });

async function importedFrom(node, origin) {
  const peers = await api(node, "GET", "/api/peers");
  return peers.peers.find((peer) => peer.did === origin)?.importedRecords ?? 0;
}

async function waitImported(node, origin, count, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await importedFrom(node, origin)) >= count) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${node.name} did not import ${count} records in time`);
}

async function registerAll(origin, from, to, concurrency = 64) {
  let next = from;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < to) {
        const i = next++;
        await api(origin, "POST", "/api/services/register", record(i));
      }
    }),
  );
}

function remoteWatch(node) {
  const socket = new WebSocket(`${node.url.replace("http", "ws")}/ws/registry`, { headers: { authorization: `Bearer ${node.token}` } });
  const waiters = new Map();
  socket.on("message", (data) => {
    const message = JSON.parse(data.toString());
    if (message.type !== "event") return;
    const key = `${message.serviceId}:${message.service?.description}`;
    waiters.get(key)?.(performance.now());
    waiters.delete(key);
  });
  const ready = new Promise((resolve, reject) => {
    socket.once("open", () => socket.send(JSON.stringify({ type: "subscribe", filter: { location: "remote" } })));
    socket.once("error", reject);
    socket.on("message", (data) => {
      if (JSON.parse(data.toString()).type === "snapshot") resolve();
    });
  });
  return { ready, until: (key) => new Promise((resolve) => waiters.set(key, resolve)), close: () => socket.close() };
}

async function federation() {
  log(`2. federation convergence (three kai serve processes, SQLite synchronous=full, ${RECORDS.toLocaleString("en")} records)`);
  const [origin, p1, p2, p3] = await Promise.all(["origin", "peer1", "peer2", "peer3"].map(startNode));
  try {
    for (const peer of [p1, p2]) await api(peer, "POST", "/api/peers", { url: origin.url, did: origin.did });
    await Promise.all([p1, p2].map((peer) => waitImported(peer, origin.did, 0)));
    // Give both links time to subscribe before the burst.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const start = performance.now();
    await registerAll(origin, 0, RECORDS);
    const acknowledged = performance.now();
    const [t1, t2] = await Promise.all([p1, p2].map((peer) => waitImported(peer, origin.did, RECORDS)));
    const done = Math.max(t1, t2);
    const live = { records: RECORDS, registerMs: round(acknowledged - start), allOnBothMs: round(done - start), afterLastAckMs: round(done - acknowledged) };
    log(`   a. live: registered in ${live.registerMs} ms; all on both peers ${live.allOnBothMs} ms after the first registration (${live.afterLastAckMs} ms after the last was acknowledged)`);

    const joinStart = performance.now();
    await api(p3, "POST", "/api/peers", { url: origin.url, did: origin.did });
    const joinDone = await waitImported(p3, origin.did, RECORDS);
    const join = { records: RECORDS, ms: round(joinDone - joinStart) };
    log(`   b. join: a new peer had all ${RECORDS.toLocaleString("en")} records ${join.ms} ms after it was added (paged snapshot)`);

    const watchers = [remoteWatch(p1), remoteWatch(p2)];
    await Promise.all(watchers.map((w) => w.ready));
    const latencies = [];
    for (let i = 0; i < CHANGES; i++) {
      const description = `change ${i}`;
      const key = `fed-${i}:${description}`;
      const arrivals = watchers.map((w) => w.until(key));
      const t0 = performance.now();
      await api(origin, "PATCH", `/api/services/fed-${i}`, { description });
      for (const arrived of await Promise.all(arrivals)) latencies.push(arrived - t0);
    }
    for (const w of watchers) w.close();
    const one = summarize(latencies);
    log(`   c. one change → each peer's watch stream: p50 ${round(one.p50)} ms, p99 ${round(one.p99)} ms (${one.n} samples, ${CHANGES} changes × 2 peers)`);
    return { live, join, oneChange: { p50Ms: round(one.p50), p99Ms: round(one.p99), samples: one.n } };
  } finally {
    await Promise.all([origin, p1, p2, p3].map((node) => node.stop()));
    await agent.close();
  }
}

const results = { signVerify: await signVerify(), federation: await federation() };
log(JSON.stringify(results));
