/**
 * @module bench/registry/bulk-load
 * Issue 19's bulk load: `settings.loadCount` services through `POST /api/services/bulk`, in batches of
 * `bulkBatch` (1000, the route's most) with `bulkInFlight` batches in flight, on a fresh server. The same 600-byte
 * records as the one-by-one load (phase 3) and etcd's load, without a ttl like etcd's lease-less keys. The figure is
 * services/s from the first request to the last answer; every batch must answer 200 with one result per entry.
 * Also the server process's CPU time per service (utime+stime): on a shared machine the rate moves with the
 * neighbours' load, the CPU per service much less, and 1e6 / (µs per service) is what one busy core would allow.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { processCpuMs, processRssMb } from "../lib/proc-stats.mjs";
import { serviceRecordJson } from "../lib/service-record.mjs";
import { call, poolFor } from "./http-client.mjs";
import { targetName, withServer } from "./registry-phases.mjs";
import { CLI_MAIN } from "./server-process.mjs";

const BULK = "/api/services/bulk";

export function registryBulkLoad(settings, log, target = { kind: "sqlite", synchronous: "full" }) {
  const name = targetName(target);
  const batch = settings.bulkBatch;
  const inFlight = settings.bulkInFlight;
  return withServer(target, log, async (server, token) => {
    // Bodies are built before the clock starts: the figure is the server's, not the load generator's JSON.
    const bodies = [];
    for (let from = 0; from < settings.loadCount; from += batch) {
      const entries = [];
      for (let index = from; index < Math.min(from + batch, settings.loadCount); index++) {
        entries.push(serviceRecordJson({ id: `svc-${randomUUID()}`, index, ttl: undefined }));
      }
      bodies.push(`{"services":[${entries.join(",")}]}`);
    }
    const pool = poolFor(server.url, inFlight);
    let next = 0;
    let loaded = 0;
    const latencies = [];
    const deadline = performance.now() + settings.loadMaxMs;
    const cpuBefore = processCpuMs(server.pid);
    const started = performance.now();
    async function worker() {
      while (next < bodies.length && performance.now() < deadline) {
        const body = bodies[next++];
        const sent = performance.now();
        const answer = await call(pool, { method: "POST", path: BULK, token, body, expect: [200], parse: true });
        latencies.push(performance.now() - sent);
        loaded += answer.results.filter((result) => result.action === "created").length;
      }
    }
    try {
      await Promise.all(Array.from({ length: inFlight }, worker));
    } finally {
      await pool.close();
    }
    const seconds = (performance.now() - started) / 1000;
    const serverCpuMs = processCpuMs(server.pid) - cpuBefore;
    latencies.sort((a, b) => a - b);
    const result = {
      count: loaded,
      complete: loaded === settings.loadCount,
      seconds,
      perSecond: loaded / seconds,
      batch,
      inFlight,
      batchP50Ms: latencies[Math.floor(latencies.length / 2)],
      batchMaxMs: latencies[latencies.length - 1],
      serverCpuUsPerService: (serverCpuMs * 1000) / Math.max(1, loaded),
      rssMb: processRssMb(server.pid),
    };
    log(`  ours (${name}) bulk: loaded ${loaded} services in ${seconds.toFixed(1)} s (${Math.round(result.perSecond)}/s; batches of ${batch}, ${inFlight} in flight, p50 ${Math.round(result.batchP50Ms)} ms a batch; server CPU ${Math.round(result.serverCpuUsPerService)} µs a service)`);
    return result;
  });
}

/**
 * One `kai services apply -f <manifest> --progress` (the built CLI, a fresh process): seconds from its start to its
 * exit, and to its "checked" line (reading and checking the whole file before anything is sent; the CLI checks a large
 * JSON manifest on a thread per core, up to four).
 */
async function timedApply(server, token, manifest, configDir) {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI_MAIN, "--url", server.url, "services", "apply", "-f", manifest, "--progress"], {
    env: { ...process.env, KAI_TOKEN: token, KAI_CONFIG_DIR: configDir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  let checkedAt;
  let checkThreads;
  child.stderr.on("data", (chunk) => {
    const checked = checkedAt === undefined ? /checked [\d,]+ entries on (\d+) thread/.exec(chunk) : null;
    if (checked) [checkedAt, checkThreads] = [performance.now(), Number(checked[1])];
    stderr = (stderr + chunk).slice(-4000);
  });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`kai services apply exited ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
  return { seconds, prepSeconds: ((checkedAt ?? started) - started) / 1000, checkThreads, summary: stderr.trim().split("\n").at(-1) ?? "" };
}

/**
 * The same load as a user runs it: `kai services apply -f <manifest>` of the same records written as one JSON
 * manifest, on a fresh server. The figure is end to end, from the command's start to its exit: starting, reading and
 * checking the whole file before anything is sent (`prepSeconds`) and then the batches (two on their way at once).
 * Then the same manifest applied again, every entry unchanged (what a GitOps job does on every run): the check, one
 * listing of what the registry holds, and a comparison per entry (`reapplySeconds`). The CLI runs on the same 2 cores
 * as the server.
 */
export function registryApplyLoad(settings, log, target = { kind: "sqlite", synchronous: "full" }, format = "json") {
  const name = targetName(target);
  return withServer(target, log, async (server, token) => {
    const dir = mkdtempSync(join(tmpdir(), "kai-bench-apply-"));
    try {
      const manifest = join(dir, `services.${format}`);
      const entries = [];
      for (let index = 0; index < settings.loadCount; index++) entries.push(serviceRecordJson({ id: `svc-${randomUUID()}`, index, ttl: undefined }));
      writeFileSync(manifest, format === "yaml" ? await yamlManifest(entries) : `{"services":[${entries.join(",")}]}`);
      const cpuBefore = processCpuMs(server.pid);
      const first = await timedApply(server, token, manifest, dir);
      const serverCpuUsPerService = ((processCpuMs(server.pid) - cpuBefore) * 1000) / settings.loadCount;
      const again = await timedApply(server, token, manifest, dir);
      if (!again.summary.includes(`${settings.loadCount} unchanged`)) throw new Error(`the second apply changed something: ${again.summary}`);
      const result = {
        count: settings.loadCount,
        seconds: first.seconds,
        perSecond: settings.loadCount / first.seconds,
        prepSeconds: first.prepSeconds,
        checkThreads: first.checkThreads,
        serverCpuUsPerService,
        reapplySeconds: again.seconds,
        format,
      };
      log(`  ours (${name}) kai services apply (${format}): ${settings.loadCount} services in ${first.seconds.toFixed(1)} s (${Math.round(result.perSecond)}/s end to end; the file read and checked in ${first.prepSeconds.toFixed(1)} s on ${first.checkThreads} thread(s); server CPU ${Math.round(serverCpuUsPerService)} µs a service); applied again, all unchanged: ${again.seconds.toFixed(1)} s`);
      return result;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * The same entries as a block-style YAML manifest, as people write one (and as js-yaml's `dump` writes it: the library
 * `kai` reads YAML with, resolved from @kai/protocol, which depends on it).
 */
async function yamlManifest(entries) {
  const fromProtocol = createRequire(new URL("../../packages/protocol/package.json", import.meta.url));
  const { dump } = await import(pathToFileURL(fromProtocol.resolve("js-yaml")).href);
  return dump({ services: entries.map((entry) => JSON.parse(entry)) }, { lineWidth: -1 });
}
