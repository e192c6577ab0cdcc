/**
 * @module bench/plugins
 * `node bench/plugins.mjs` (after `npm run build`): a plugin call's cost (issue 18), side by side:
 * 1. in process: the same capability function awaited directly (what the call costs without isolation);
 * 2. into an isolated plugin: `PluginProcess.invoke` over IPC to its own OS process (prlimit, network namespace and
 *    Node's permission model where the machine has them), one call at a time (p50/p99 round trip) and 32 in flight
 *    (calls per second);
 * 3. cold start: `PluginProcess.start` until the entrypoint answered `ready`, and `stop`.
 * Prints figures only. BENCH_QUICK=1 for smaller counts.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("../packages/server/dist/", import.meta.url));
if (!existsSync(join(DIST, "plugins/runtime/plugin-process.js"))) {
  process.stderr.write("bench/plugins: packages/server/dist is not built (run npm run build)\n");
  process.exit(1);
}
const { PluginProcess } = await import(join(DIST, "plugins/runtime/plugin-process.js"));

const quick = process.env.BENCH_QUICK === "1";
const SEQUENTIAL = quick ? 2_000 : 20_000;
const CONCURRENT = quick ? 5_000 : 50_000;
const STARTS = quick ? 5 : 20;
const log = (message) => process.stdout.write(`${message}\n`);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (value) => `${value.toFixed(3)} ms`;

const SOURCE = "export default { echo: async (input) => ({ echoed: input }) };\n";
const echo = async (input) => ({ echoed: input });
const INPUT = { prompt: "a short tune", bars: 8, tags: ["calm", "piano"] };

const root = mkdtempSync(join(tmpdir(), "kai-bench-plugins-"));
const folder = join(root, "echo");
mkdirSync(folder);
writeFileSync(join(folder, "main.mjs"), SOURCE);

async function sequential(call, count) {
  const times = new Array(count);
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    await call();
    times[i] = performance.now() - started;
  }
  return times.sort((a, b) => a - b);
}

async function concurrent(call, count, inFlight) {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < count) {
      next += 1;
      await call();
    }
  }));
  return Math.round(count / ((performance.now() - started) / 1000));
}

try {
  const plugin = await PluginProcess.start({ folder, entrypoint: "main.mjs", invokeTimeoutMs: 30_000, cpuSeconds: 600 });
  log(`isolation: ${JSON.stringify(plugin.isolation)}`);
  // Warm both paths up (V8 and the IPC channel) before measuring.
  await sequential(() => plugin.invoke("echo", INPUT), 500);
  await sequential(() => echo(INPUT), 500);
  const inProcess = await sequential(() => echo(INPUT), SEQUENTIAL);
  const isolated = await sequential(() => plugin.invoke("echo", INPUT), SEQUENTIAL);
  const inProcessRate = await concurrent(() => echo(INPUT), CONCURRENT * 10, 32);
  const isolatedRate = await concurrent(() => plugin.invoke("echo", INPUT, 30_000), CONCURRENT, 32);
  await plugin.stop();

  const starts = [];
  for (let i = 0; i < STARTS; i += 1) {
    const started = performance.now();
    const cold = await PluginProcess.start({ folder, entrypoint: "main.mjs" });
    starts.push(performance.now() - started);
    await cold.stop();
  }
  starts.sort((a, b) => a - b);

  log("| call | p50 | p99 | calls/s (32 in flight) |");
  log("|---|---|---|---|");
  log(`| in process | ${ms(percentile(inProcess, 50))} | ${ms(percentile(inProcess, 99))} | ${inProcessRate} |`);
  log(`| isolated plugin (IPC) | ${ms(percentile(isolated, 50))} | ${ms(percentile(isolated, 99))} | ${isolatedRate} |`);
  log(`cold start (start until ready, ${STARTS} runs): p50 ${ms(percentile(starts, 50))}, max ${ms(starts[starts.length - 1])}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
