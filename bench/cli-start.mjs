/**
 * @module bench/cli-start
 * `node bench/cli-start.mjs` (after `npm run build`): how long `kai` takes to start and finish for commands that do
 * little else, each spawned as a fresh process (what a shell user and the CLI tests pay on every command):
 * `--version`, `--help`, `serve --help`, and `services list` against a port where nothing listens (the CLI loads
 * everything it needs to call the node, then fails to connect: exit 7). Prints median and p90 wall time per command.
 * BENCH_QUICK=1 for fewer runs; BENCH_RUNS=<n> to choose; BENCH_CLI=<path to a main.js> to time another build of
 * `kai` (a copy of an older dist/ beside a node_modules, for a before/after).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const MAIN = process.env.BENCH_CLI ?? fileURLToPath(new URL("../packages/cli/dist/main.js", import.meta.url));
if (!existsSync(MAIN)) {
  process.stderr.write("bench/cli-start: packages/cli/dist is not built (run npm run build)\n");
  process.exit(1);
}

const quick = process.env.BENCH_QUICK === "1";
const RUNS = Number(process.env.BENCH_RUNS ?? (quick ? 5 : 15));
const log = (message) => process.stdout.write(`${message}\n`);
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** A port that was free a moment ago: bind to 0, read the port, close. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const deadUrl = `http://127.0.0.1:${await freePort()}`;
const COMMANDS = [
  { label: "kai --version", args: ["--version"], exit: 0 },
  { label: "kai --help", args: ["--help"], exit: 0 },
  { label: "kai serve --help", args: ["serve", "--help"], exit: 0 },
  { label: "kai services list (nothing listening)", args: ["services", "list", "--url", deadUrl, "--token", "bench"], exit: 7 },
];

// A clean environment: no stored login or KAI_* variables change what the CLI does between runs.
const env = { ...process.env, HOME: process.env.HOME ?? "/tmp" };
for (const key of Object.keys(env)) if (key.startsWith("KAI_")) delete env[key];

log(`kai start-up, ${RUNS} runs each (node ${process.version}), wall time of the whole process${process.env.BENCH_CLI ? ` (${MAIN})` : ""}`);
for (const { label, args, exit } of COMMANDS) {
  const times = [];
  // One unmeasured run warms the file-system cache.
  spawnSync(process.execPath, [MAIN, ...args], { env, stdio: "ignore" });
  for (let i = 0; i < RUNS; i += 1) {
    const started = performance.now();
    const result = spawnSync(process.execPath, [MAIN, ...args], { env, stdio: "ignore" });
    times.push(performance.now() - started);
    if (result.status !== exit) {
      process.stderr.write(`bench/cli-start: ${label} exited ${result.status} (expected ${exit})\n`);
      process.exit(1);
    }
  }
  times.sort((a, b) => a - b);
  log(`  ${label.padEnd(40)} median ${percentile(times, 50).toFixed(0).padStart(4)} ms   p90 ${percentile(times, 90).toFixed(0).padStart(4)} ms`);
}
