/**
 * @module bench/gateway
 * `npm run bench` (gateway part): the same chat completion through four paths in one run, against one
 * fixed fake upstream, each in its own process:
 *   direct        client → upstream
 *   undici proxy  client → minimal pass-through proxy → upstream (the floor any Node gateway pays)
 *   ours          client → kai /v1/chat/completions (auth, routing, rate limits, metrics) → upstream
 *   portkey       client → @portkey-ai/gateway /v1/chat/completions → upstream
 *   ours, traced 0 % / 100 %   ours with OpenTelemetry on (spans exported over OTLP/HTTP to a sink in its own
 *                 process), sampling none or every request: what tracing costs the gateway path
 * Reports, per path: max throughput (closed loop), latency at a fixed rate and what each path adds over
 * direct, and for streaming the added time to first byte and chunks per second. Ratios are against the
 * undici proxy, measured side by side. Figures only: no pass/fail on timings (the machine is shared).
 * Each path's own process CPU per request (and per streamed chunk) is reported too, from /proc: on a shared
 * machine it moves far less than wall-clock throughput does (for "direct" it is the upstream's own cost).
 *
 * BENCH_QUICK=1 shortens every window for a smoke run.
 */
import autocannon from "autocannon";
import { Pool } from "undici";
import { cpus, release, totalmem } from "node:os";
import { startKai, startOtlpSink, startPortkey, startUndiciProxy, startUpstream } from "./gateway/processes.mjs";
import { processCpuMs } from "./lib/proc-stats.mjs";
import { summarize } from "./lib/stats.mjs";

const quick = process.env.BENCH_QUICK === "1";
const settings = {
  throughputSeconds: quick ? 3 : 10,
  throughputConnections: 64,
  fixedRate: 500,
  fixedRateSeconds: quick ? 3 : 10,
  fixedRateConnections: 32,
  streamSeconds: quick ? 2 : 8,
  streamConcurrency: 8,
  warmupSeconds: quick ? 1 : 2,
};
const log = (message) => process.stderr.write(`${message}\n`);
const BODY = JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "Say hello." }] });
const STREAM_BODY = JSON.stringify({ model: "bench-model", stream: true, messages: [{ role: "user", content: "Say hello." }] });

function autocannonRun(target, options) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `${target.url}${target.path}`,
        method: "POST",
        headers: { "content-type": "application/json", ...target.headers },
        body: BODY,
        ...options,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

async function checkTarget(target) {
  const response = await fetch(`${target.url}${target.path}`, { method: "POST", headers: { "content-type": "application/json", ...target.headers }, body: BODY });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${target.name}: ${response.status} ${text.slice(0, 160)}`);
  if (!text.includes("Hello from the fixed upstream")) throw new Error(`${target.name}: unexpected body ${text.slice(0, 160)}`);
}

async function throughput(target) {
  await autocannonRun(target, { connections: settings.throughputConnections, duration: settings.warmupSeconds });
  const cpuBefore = processCpuMs(target.pid);
  const result = await autocannonRun(target, { connections: settings.throughputConnections, duration: settings.throughputSeconds });
  const cpuUsPerRequest = ((processCpuMs(target.pid) - cpuBefore) * 1000) / result.requests.total;
  return { perSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx, cpuUsPerRequest };
}

/**
 * Open loop at a fixed rate: requests start on schedule whatever the answers do (no coordinated omission),
 * timed with performance.now(), so sub-millisecond differences between paths are visible.
 */
async function fixedRate(target) {
  const pool = new Pool(target.url, { connections: settings.fixedRateConnections });
  const latencies = [];
  let errors = 0;
  const intervalMs = 1000 / settings.fixedRate;
  const total = settings.fixedRate * settings.fixedRateSeconds;
  const started = performance.now();
  const inflight = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inflight.push(
      (async () => {
        const began = performance.now();
        try {
          const response = await pool.request({ method: "POST", path: target.path, headers: { "content-type": "application/json", ...target.headers }, body: BODY });
          await response.body.dump();
          if (response.statusCode !== 200) errors++;
          else latencies.push(performance.now() - began);
        } catch {
          errors++;
        }
      })(),
    );
  }
  await Promise.all(inflight);
  await pool.close();
  const stats = summarize(latencies);
  return { rate: settings.fixedRate, p50: stats.p50, p99: stats.p99, errors };
}

/** Streams for a while with a few requests in flight; per request: time to first body byte, chunk count. */
async function streaming(target) {
  const pool = new Pool(target.url, { connections: settings.streamConcurrency });
  const ttfb = [];
  let chunks = 0;
  let errors = 0;
  const started = performance.now();
  const cpuBefore = processCpuMs(target.pid);
  const deadline = started + settings.streamSeconds * 1000;
  async function worker() {
    while (performance.now() < deadline) {
      const began = performance.now();
      try {
        const response = await pool.request({ method: "POST", path: target.path, headers: { "content-type": "application/json", ...target.headers }, body: STREAM_BODY });
        let first = true;
        let text = "";
        for await (const part of response.body) {
          if (first) {
            ttfb.push(performance.now() - began);
            first = false;
          }
          text += part;
        }
        if (response.statusCode !== 200 || !text.includes("[DONE]")) errors++;
        chunks += text.split("\n\n").filter((frame) => frame.startsWith("data: {")).length;
      } catch {
        errors++;
      }
    }
  }
  await Promise.all(Array.from({ length: settings.streamConcurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpuUsPerChunk = ((processCpuMs(target.pid) - cpuBefore) * 1000) / chunks;
  await pool.close();
  const stats = summarize(ttfb);
  return { ttfbP50: stats.p50, ttfbP99: stats.p99, chunksPerSecond: chunks / seconds, streams: ttfb.length, errors, cpuUsPerChunk };
}

const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "—");
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");

async function main() {
  log(`kAI gateway benchmark${quick ? " (BENCH_QUICK)" : ""}`);
  log(`machine: ${cpus().length} x ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GB, Linux ${release()}, Node ${process.version}`);
  const upstream = await startUpstream();
  const stops = [upstream.stop];
  const targets = [{ name: "direct", url: upstream.url, pid: upstream.pid, path: "/v1/chat/completions", headers: { authorization: "Bearer upstream-key" } }];
  const skipped = {};
  try {
    const proxy = await startUndiciProxy(upstream.url);
    stops.push(proxy.stop);
    targets.push({ name: "undici proxy", url: proxy.url, pid: proxy.pid, path: "/v1/chat/completions", headers: { authorization: "Bearer upstream-key" } });
    try {
      const kai = await startKai(upstream.url, log);
      stops.push(kai.stop);
      targets.push({ name: "ours", url: kai.url, pid: kai.pid, path: "/v1/chat/completions", headers: { authorization: `Bearer ${kai.token}` } });
    } catch (error) {
      skipped.ours = error.message;
    }
    // Tracing on: sampling none (the cost of the context and the sampling decision) and every request (spans made
    // and exported). Skipped with BENCH_TRACING=0.
    if (process.env.BENCH_TRACING !== "0") {
      try {
        const sink = await startOtlpSink();
        stops.push(sink.stop);
        for (const sampleRatio of [0, 1]) {
          const name = `ours, traced ${sampleRatio * 100} %`;
          try {
            const traced = await startKai(upstream.url, log, { endpoint: sink.url, sampleRatio });
            stops.push(traced.stop);
            targets.push({ name, url: traced.url, pid: traced.pid, path: "/v1/chat/completions", headers: { authorization: `Bearer ${traced.token}` } });
          } catch (error) {
            skipped[name] = error.message;
          }
        }
      } catch (error) {
        skipped["ours, traced"] = error.message;
      }
    }
    try {
      const portkey = await startPortkey();
      stops.push(portkey.stop);
      targets.push({
        name: "portkey",
        url: portkey.url,
        pid: portkey.pid,
        path: "/v1/chat/completions",
        headers: { authorization: "Bearer upstream-key", "x-portkey-provider": "openai", "x-portkey-custom-host": `${upstream.url}/v1` },
      });
    } catch (error) {
      skipped.portkey = error.message;
    }
    const results = {};
    for (const target of targets) {
      try {
        await checkTarget(target);
      } catch (error) {
        skipped[target.name] = error.message;
        continue;
      }
      log(`\n== ${target.name}`);
      const tp = await throughput(target);
      log(`  throughput: ${int(tp.perSecond)}/s (p50 ${fmt(tp.p50)} ms, p99 ${fmt(tp.p99)} ms, ${tp.errors} errors; ${int(tp.cpuUsPerRequest)} µs CPU per request)`);
      const fr = await fixedRate(target);
      log(`  at ${fr.rate}/s: p50 ${fmt(fr.p50)} ms, p99 ${fmt(fr.p99)} ms (${fr.errors} errors)`);
      const st = await streaming(target);
      log(`  streaming: ttfb p50 ${fmt(st.ttfbP50)} ms p99 ${fmt(st.ttfbP99)} ms, ${int(st.chunksPerSecond)} chunks/s (${st.streams} streams, ${st.errors} errors; ${fmt(st.cpuUsPerChunk, 1)} µs CPU per chunk)`);
      results[target.name] = { throughput: tp, fixedRate: fr, streaming: st };
    }
    report(results, skipped);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

function report(results, skipped) {
  const direct = results.direct;
  const floor = results["undici proxy"];
  const rows = [["Path", "req/s (closed loop, 64 conn.)", "vs undici proxy", "CPU µs/req", `added p50 / p99 at ${settings.fixedRate}/s (ms)`, "stream: added TTFB p50 (ms)", "chunks/s", "vs undici proxy", "CPU µs/chunk"]];
  for (const [name, r] of Object.entries(results)) {
    const added = direct ? `${fmt(r.fixedRate.p50 - direct.fixedRate.p50)} / ${fmt(r.fixedRate.p99 - direct.fixedRate.p99)}` : "—";
    rows.push([
      name,
      int(r.throughput.perSecond),
      floor ? `${fmt(r.throughput.perSecond / floor.throughput.perSecond)}x` : "—",
      int(r.throughput.cpuUsPerRequest),
      added,
      direct ? fmt(r.streaming.ttfbP50 - direct.streaming.ttfbP50) : "—",
      int(r.streaming.chunksPerSecond),
      floor ? `${fmt(r.streaming.chunksPerSecond / floor.streaming.chunksPerSecond)}x` : "—",
      fmt(r.streaming.cpuUsPerChunk, 1),
    ]);
  }
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  const line = (row) => `| ${row.map((cell, column) => String(cell).padEnd(widths[column])).join(" | ")} |`;
  console.log("\nGateway: one chat completion, fixed fake upstream, every path in its own process, same run");
  console.log(line(rows[0]));
  console.log(`|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`);
  for (const row of rows.slice(1)) console.log(line(row));
  console.log("Throughput: autocannon, closed loop. Fixed rate: open loop timed with performance.now(); 'added' = path minus direct at the same rate.");
  console.log("CPU: the path's own process (user+system from /proc) per request and per streamed chunk; for direct, the upstream's.");
  for (const [name, reason] of Object.entries(skipped)) console.log(`skipped ${name}: ${reason}`);
}

await main();
