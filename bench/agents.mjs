/**
 * @module bench/agents
 * `npm run bench` (agent mesh part, issue 16), after `npm run build`, against a real node started in this process from
 * packages/server/dist (storage: SQLite, the default, or BENCH_AGENTS_STORE=memory):
 * 1. Orchestration overhead per step: tasks with chain plans (1, 5, 20 steps, each step's input wired from the one
 *    before) and a wide plan (20 independent steps) run one at a time on real HTTP agents that answer at once.
 *    Per task: (wall time − agent time) / steps, where wall time runs from the POST /api/agent/task to the task's
 *    `completed` event on the node's bus (an in-process listener) and agent time is the union of the intervals the
 *    agents spent inside their handlers. p50/p99 per step; also the marginal cost of a chain step (slope 5 → 20).
 *    Each shape is measured once the node is warm (after 3,000 steps of it, BENCH_AGENTS_WARMUP_STEPS), as a node
 *    that has run for a while is; the first 200 one-step tasks after start are a row of their own ("just started").
 *    Goal: < 2 ms.
 * 2. Steps per second: 1,000 tasks of 5 chained steps submitted at once over HTTP (undici Pool), completion observed
 *    on a /ws/events subscription (no polling). Goal: ≥ 1,000 steps/s.
 * 3. Event fan-out: 1,000 WebSocket subscribers on /ws/events; events published on the node's bus in this process,
 *    each carrying its send time, one every 100 ms; latency from publish to receipt (process.hrtime, one clock for every thread).
 *    Goal: p99 < 50 ms.
 * The agents, phase 1's submitting client and the WebSocket clients run in worker threads (bench/lib/agents-worker.mjs,
 * agents-client-worker.mjs, events-ws-worker.mjs), so the node's event loop carries only the node. Figures only, no
 * pass/fail (the machine is shared). BENCH_QUICK=1 for a smaller run; BENCH_AGENTS_ONLY=overhead|throughput|fanout
 * runs one part (to profile it: node --cpu-prof).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { Pool } from "undici";
import { processCpuMs } from "./lib/proc-stats.mjs";
import { summarize } from "./lib/stats.mjs";
import { submitTask } from "./lib/submit-task.mjs";

const quick = process.env.BENCH_QUICK === "1";
const storeKind = process.env.BENCH_AGENTS_STORE ?? "sqlite";
/** BENCH_AGENTS_ONLY=overhead|throughput|fanout (or a comma list) runs only those parts (e.g. under --cpu-prof). */
const only = process.env.BENCH_AGENTS_ONLY;
const runs = (part) => only === undefined || only.split(",").includes(part);
/** BENCH_AGENTS_CLIENT=main: phase 1's submitting client on the node's own thread (as before 2026-12-05 night). */
const clientInMain = process.env.BENCH_AGENTS_CLIENT === "main";
const settings = {
  agents: 8,
  warmupTasks: quick ? 10 : 30,
  tasksPerShape: quick ? 30 : 200,
  // Steps of a shape run before it is measured (BENCH_AGENTS_WARMUP_STEPS): a node's figure falls for its first
  // ~2,000 one-step tasks on this 2-core machine (V8 optimising the path, its background compiles competing for the
  // cores), so a shape is measured once warm; the first 200 one-step tasks after start are reported on their own.
  warmupSteps: Number(process.env.BENCH_AGENTS_WARMUP_STEPS ?? (quick ? 200 : 3000)),
  // BENCH_AGENTS_SHAPES=chain:20,wide:20 runs only those shapes (e.g. to profile one).
  shapes: (process.env.BENCH_AGENTS_SHAPES?.split(",").map((shape) => ({ name: shape.split(":")[0], steps: Number(shape.split(":")[1]) })) ?? [
    { name: "chain", steps: 1 },
    { name: "chain", steps: 5 },
    { name: "chain", steps: 20 },
    { name: "wide", steps: 20 },
  ]),
  concurrentTasks: quick ? 200 : 1000,
  concurrentSteps: 5,
  submitConnections: 64,
  subscribers: quick ? 200 : 1000,
  probes: quick ? 50 : 200,
  // One event at a time to all subscribers (its fan-out done before the next): latency, not a saturated queue.
  probeIntervalMs: 100,
};
/** BENCH_AGENTS_SERVER: another build's packages/server/dist/index.js (e.g. the previous commit's, for a before/after in one session). */
const SERVER = process.env.BENCH_AGENTS_SERVER ?? fileURLToPath(new URL("../packages/server/dist/index.js", import.meta.url));
const PROTOCOL = fileURLToPath(new URL("../packages/protocol/dist/index.js", import.meta.url));
const log = (message) => process.stderr.write(`${message}\n`);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "—");
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");
/** CPU (user+system, ms) of the main thread (the node, and this script's small client side) and of the whole process (with the agents' and subscribers' threads). */
const cpu = () => ({ main: processCpuMs(`${process.pid}/task/${process.pid}`), all: (process.cpuUsage().user + process.cpuUsage().system) / 1000 });
const cpuPer = (before, count) => {
  const after = cpu();
  return { main: (after.main - before.main) / count, all: (after.all - before.all) / count };
};
const load = () => loadavg().map((n) => n.toFixed(1)).join(" / ");

if (!existsSync(SERVER) || !existsSync(PROTOCOL)) {
  log("bench/agents: the packages are not built (run npm run build)");
  process.exit(1);
}
const { startServer } = await import(SERVER);
const { klp, signAgentManifest } = await import(PROTOCOL);

/** Starts a worker thread and resolves with its `ready` message. */
function startWorker(file, workerData) {
  const worker = new Worker(new URL(file, import.meta.url), { workerData });
  return new Promise((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (message) => resolve({ worker, ready: message }));
  });
}
function ask(worker, request, reply) {
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (message.type !== reply) return;
      worker.off("message", onMessage);
      resolve(message);
    };
    worker.on("message", onMessage);
    worker.postMessage(request);
  });
}

async function api(node, path, body, token) {
  const response = await fetch(`${node.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${path} -> ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

function plan(shape, index) {
  const steps = Array.from({ length: shape.steps }, (_, i) =>
    shape.name === "chain" && i > 0
      ? { id: `s${i}`, capability: "bench_echo", input: { n: i }, dependsOn: [`s${i - 1}`], inputsFrom: { previous: { step: `s${i - 1}`, path: "step" } }, retries: 0 }
      : { id: `s${i}`, capability: "bench_echo", input: { n: i }, retries: 0 },
  );
  return { goal: `bench ${shape.name} ${shape.steps} #${index}`, plan: { goal: `bench ${shape.name} ${shape.steps}`, steps } };
}

/** Total length of the union of [start, end] intervals: the time at least one agent was busy with the task. */
function unionLength(intervals) {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [start, end] = sorted[0] ?? [0, 0];
  for (const [s, e] of sorted.slice(1)) {
    if (s > end) {
      total += end - start;
      [start, end] = [s, e];
    } else end = Math.max(end, e);
  }
  return total + (end - start);
}

/** A shape's name in the report: "chain of 5", or the round measured on a node just started. */
function label(shape, justStarted) {
  return justStarted ? `${shape.name} of ${shape.steps}, just started (the first ${settings.tasksPerShape} tasks)` : `${shape.name} of ${shape.steps}`;
}

/** Phase 1: one task at a time; completion seen by a listener on the node's own bus. */
async function overhead(node, pool, token, agents) {
  const done = new Map();
  const waiters = new Map();
  const unsubscribe = node.mesh.bus.subscribe((event) => {
    if (event.type !== "TASK_PROGRESS" || event.payload.step !== undefined) return;
    if (!["completed", "failed", "canceled"].includes(event.payload.state)) return;
    const at = now();
    done.set(event.taskId, { at, state: event.payload.state });
    waiters.get(event.taskId)?.();
  });
  // The submitting client in a thread of its own, as a real client is not on the node's event loop (its request's
  // serialisation, the 202's parsing); BENCH_AGENTS_CLIENT=main puts it back on the node's thread (figures before
  // 2026-12-05 night).
  const client = clientInMain ? null : (await startWorker("./lib/agents-client-worker.mjs", { url: node.url, token })).worker;
  const runOne = async (shape, index) => {
    let started = now();
    let id;
    if (client) {
      const reply = await ask(client, { type: "submit", body: plan(shape, index) }, "submitted");
      if (reply.error) throw new Error(reply.error);
      ({ id, started } = reply);
    } else id = await submitTask(pool, token, plan(shape, index));
    if (!done.has(id)) await new Promise((resolve) => waiters.set(id, resolve));
    waiters.delete(id);
    const result = done.get(id);
    done.delete(id);
    if (result.state !== "completed") throw new Error(`task ${id} ${result.state}`);
    return { id, wall: result.at - started };
  };
  for (let i = 0; i < settings.warmupTasks; i++) await runOne({ name: "chain", steps: 5 }, i);
  await ask(agents, { type: "collect" }, "intervals");
  const results = [];
  // First the figure of a node just started (what this bench measured before 2026-12-06), then each shape once warm.
  const rounds = [{ shape: { name: "chain", steps: 1 }, justStarted: true }, ...settings.shapes.map((shape) => ({ shape, justStarted: false }))];
  for (const { shape, justStarted } of rounds) {
    if (!justStarted) {
      const warmupTasks = Math.ceil(settings.warmupSteps / shape.steps);
      for (let i = 0; i < warmupTasks; i++) await runOne(shape, i);
      await ask(agents, { type: "collect" }, "intervals");
    }
    const runs = [];
    const cpuBefore = cpu();
    for (let i = 0; i < settings.tasksPerShape; i++) runs.push(await runOne(shape, i));
    const cpuPerStep = cpuPer(cpuBefore, settings.tasksPerShape * shape.steps);
    const intervals = new Map((await ask(agents, { type: "collect" }, "intervals")).intervals);
    const perStep = [];
    const walls = [];
    const agentTimes = [];
    for (const run of runs) {
      const spent = intervals.get(run.id) ?? [];
      if (spent.length !== shape.steps) throw new Error(`task ${run.id}: the agents saw ${spent.length} of ${shape.steps} steps`);
      const agentTime = unionLength(spent);
      walls.push(run.wall);
      agentTimes.push(agentTime);
      perStep.push((run.wall - agentTime) / shape.steps);
    }
    const stats = summarize(perStep);
    const wall = summarize(walls);
    const agentTime = summarize(agentTimes);
    results.push({ shape, justStarted, perStep: stats, wall, agentTime, cpuPerStep });
    log(`  ${label(shape, justStarted)}: overhead per step p50 ${fmt(stats.p50)} ms, p99 ${fmt(stats.p99)} ms; task wall p50 ${fmt(wall.p50)} ms (agents ${fmt(agentTime.p50, 3)} ms); CPU per step ${fmt(cpuPerStep.main)} ms main thread, ${fmt(cpuPerStep.all)} ms process [load ${load()}]`);
  }
  unsubscribe();
  client?.postMessage({ type: "close" });
  return results;
}

/** Phase 2: many tasks at once; completion seen on a /ws/events subscription in a worker thread. */
async function throughput(node, pool, token) {
  const { worker } = await startWorker("./lib/events-ws-worker.mjs", { url: node.url.replace(/^http/, "ws"), token: node.adminToken, count: 1, query: "type=TASK_PROGRESS", mode: "tasks" });
  const done = new Map();
  let resolveAll;
  const all = new Promise((resolve) => (resolveAll = resolve));
  worker.on("message", (message) => {
    if (message.type !== "done") return;
    done.set(message.taskId, message);
    if (done.size >= settings.concurrentTasks) resolveAll();
  });
  const shape = { name: "chain", steps: settings.concurrentSteps };
  const bodies = Array.from({ length: settings.concurrentTasks }, (_, i) => plan(shape, i));
  const cpuBefore = cpu();
  const started = now();
  const submitted = new Map();
  await Promise.all(
    bodies.map(async (body) => {
      const at = now();
      const id = await submitTask(pool, token, body);
      submitted.set(id, at);
    }),
  );
  const allSubmitted = now();
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${done.size} of ${settings.concurrentTasks} tasks finished within 300 s`)), 300_000).unref());
  await Promise.race([all, timeout]);
  const cpuPerStep = cpuPer(cpuBefore, settings.concurrentTasks * settings.concurrentSteps);
  const health = await ask(worker, { type: "collect" }, "latencies");
  worker.postMessage({ type: "close" });
  const finished = [...done.values()];
  const last = Math.max(...finished.map((d) => d.at));
  const seconds = (last - started) / 1000;
  const latencies = finished.filter((d) => submitted.has(d.taskId)).map((d) => d.at - submitted.get(d.taskId));
  const failed = finished.filter((d) => d.state !== "completed").length;
  return {
    stepsPerSecond: (settings.concurrentTasks * settings.concurrentSteps) / seconds,
    tasksPerSecond: settings.concurrentTasks / seconds,
    seconds,
    submitSeconds: (allSubmitted - started) / 1000,
    completion: summarize(latencies),
    failed,
    streamDropped: health.dropped,
    cpuPerStep,
  };
}

/** Phase 3: events published on the node's bus, timed to their receipt by every WebSocket subscriber. */
async function fanout(node) {
  const { worker, ready } = await startWorker("./lib/events-ws-worker.mjs", {
    url: node.url.replace(/^http/, "ws"),
    token: node.adminToken,
    count: settings.subscribers,
    query: "type=USER_NOTIFICATION",
    mode: "fanout",
  });
  const publish = (payload) => node.mesh.bus.publish({ id: randomUUID(), type: "USER_NOTIFICATION", agent: "kBench:fanout", payload, timestamp: new Date().toISOString() });
  // Warm-up: every socket's subscription is attached and its path warm before timing.
  for (let i = 0; i < 10; i++) {
    await publish({ warmup: i });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await ask(worker, { type: "collect" }, "latencies");
  const cpuBefore = cpu();
  for (let i = 0; i < settings.probes; i++) {
    await publish({ probe: i, sentAt: now() });
    await new Promise((resolve) => setTimeout(resolve, settings.probeIntervalMs));
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const cpuPerDelivery = cpuPer(cpuBefore, ready.sockets * settings.probes);
  const result = await ask(worker, { type: "collect" }, "latencies");
  worker.postMessage({ type: "close" });
  return { subscribers: ready.sockets, stats: summarize(result.latencies), expected: ready.sockets * settings.probes, received: result.latencies.length, dropped: result.dropped, closedEarly: result.closedEarly, cpuPerDelivery };
}

async function main() {
  log(`kAI agent mesh benchmark${quick ? " (BENCH_QUICK)" : ""}, storage ${storeKind}, server ${SERVER}`);
  log(`machine: ${cpus().length} x ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GB, Linux ${release()}, Node ${process.version}; load average ${load()}`);
  const loadBefore = load();
  const dataDir = mkdtempSync(join(tmpdir(), "kai-bench-agents-"));
  const node = await startServer({
    port: 0,
    host: "127.0.0.1",
    quiet: true,
    dataDir,
    env: {},
    config: {
      storage: { kind: storeKind },
      rateLimit: { enabled: false },
      // 1,000 subscribers share one admin token here; and the one task stream of phase 2 must keep up with a burst.
      bus: { maxStreamsPerToken: 5000, maxQueuedEvents: 100_000 },
    },
  });
  const agents = await startWorker("./lib/agents-worker.mjs", { count: settings.agents });
  const pool = new Pool(node.url, { connections: settings.submitConnections, keepAliveTimeout: 60_000 });
  try {
    const { token } = await api(node, "/api/tokens", { scopes: ["tasks:run", "agents:read", "agents:write"], owner: "bench" }, node.adminToken);
    for (const [i, url] of agents.ready.urls.entries()) {
      const manifest = signAgentManifest(
        { id: `kBench:echo${i}`, name: `echo ${i}`, skills: [{ id: "echo", name: "echo", capability: "bench_echo" }], endpoint: { transport: "http", url }, limits: { maxConcurrentTasks: 1000, stepTimeoutMs: 60_000 } },
        klp.generateKeyPair(),
      );
      await api(node, "/api/agents", manifest, token);
    }

    log(`\n== orchestration overhead per step (${settings.tasksPerShape} tasks per shape, one at a time, ${settings.agents} agents answering at once; each shape after ${int(settings.warmupSteps)} steps of it)`);
    const steps = runs("overhead") ? await overhead(node, pool, token, agents.worker) : [];
    const chain5 = steps.find((r) => !r.justStarted && r.shape.name === "chain" && r.shape.steps === 5);
    const chain20 = steps.find((r) => !r.justStarted && r.shape.name === "chain" && r.shape.steps === 20);
    const marginal = chain5 && chain20 ? (chain20.wall.p50 - chain20.agentTime.p50 - (chain5.wall.p50 - chain5.agentTime.p50)) / 15 : NaN;
    log(`  marginal chain step (p50 of 20-step minus 5-step, / 15): ${fmt(marginal)} ms`);

    log(`\n== ${settings.concurrentTasks.toLocaleString("en-US")} concurrent tasks of ${settings.concurrentSteps} steps [load ${load()}]`);
    const tp = runs("throughput") ? await throughput(node, pool, token) : { completion: {}, cpuPerStep: {} };
    log(`  ${int(tp.stepsPerSecond)} steps/s (${int(tp.tasksPerSecond)} tasks/s) over ${fmt(tp.seconds)} s; all submitted after ${fmt(tp.submitSeconds)} s; submit → done p50 ${int(tp.completion.p50)} ms, p99 ${int(tp.completion.p99)} ms; ${tp.failed} failed; CPU per step ${fmt(tp.cpuPerStep.main)} ms main thread, ${fmt(tp.cpuPerStep.all)} ms process`);

    log(`\n== event fan-out to ${settings.subscribers.toLocaleString("en-US")} WebSocket subscribers [load ${load()}]`);
    const fan = runs("fanout") ? await fanout(node) : { stats: {}, cpuPerDelivery: {} };
    log(`  publish → receipt p50 ${fmt(fan.stats.p50)} ms, p99 ${fmt(fan.stats.p99)} ms, max ${fmt(fan.stats.max)} ms; ${fan.received} of ${fan.expected} received, ${fan.dropped} dropped, ${fan.closedEarly} closed; main-thread CPU ${fmt(fan.cpuPerDelivery.main * 1000, 0)} µs per delivery`);
    const loadAfter = load();

    console.log(`\nAgent mesh (issue 16), storage ${storeKind}${quick ? " — BENCH_QUICK, not comparable" : ""}`);
    console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), Node ${process.version}; load average (1/5/15 min) ${loadBefore} before, ${loadAfter} after`);
    console.log("| Figure | Value | Goal |");
    console.log("|---|---|---|");
    for (const r of steps) {
      console.log(`| overhead per step, ${label(r.shape, r.justStarted)} (p50 / p99; task wall p50; main-thread CPU per step) | ${fmt(r.perStep.p50)} / ${fmt(r.perStep.p99)} ms (${fmt(r.wall.p50)} ms; ${fmt(r.cpuPerStep.main)} ms) | ${r.justStarted ? "—" : "< 2 ms"} |`);
    }
    console.log(`| marginal chain step (20- vs 5-step tasks, p50) | ${fmt(marginal)} ms | — |`);
    console.log(`| steps/s, ${int(settings.concurrentTasks)} concurrent tasks × ${settings.concurrentSteps} steps | ${int(tp.stepsPerSecond)} (${int(tp.tasksPerSecond)} tasks/s; ${tp.failed} failed) | ≥ 1,000 |`);
    console.log(`| … CPU per step: main thread (the node) / whole process (with agents, subscriber threads) | ${fmt(tp.cpuPerStep.main)} / ${fmt(tp.cpuPerStep.all)} ms | — |`);
    console.log(`| … task submit → done p50 / p99 | ${int(tp.completion.p50)} / ${int(tp.completion.p99)} ms | — |`);
    console.log(`| event fan-out to ${int(fan.subscribers)} WebSocket subscribers, p50 / p99 (max) | ${fmt(fan.stats.p50)} / ${fmt(fan.stats.p99)} ms (${fmt(fan.stats.max)}) | p99 < 50 ms |`);
    console.log(`| … deliveries received / expected; main-thread CPU per delivery | ${int(fan.received)} / ${int(fan.expected)} (${fan.dropped} dropped); ${fmt(fan.cpuPerDelivery?.main * 1000, 0)} µs | all |`);
    console.log(`Overhead: each shape measured after ${int(settings.warmupSteps)} steps of it (a node warming up is the "just started" row); (wall − agent time) / steps, wall = POST /api/agent/task → the completed event on the node's bus; agents in a worker thread; the submitting client ${clientInMain ? "on the node's thread (BENCH_AGENTS_CLIENT=main)" : "in a worker thread"}.`);
    console.log("CPU: /proc per-thread user+system time; on a loaded machine it moves much less than wall-clock figures do.");
  } finally {
    await pool.close().catch(() => undefined);
    agents.worker.postMessage({ type: "close" });
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    log(`bench/agents: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
