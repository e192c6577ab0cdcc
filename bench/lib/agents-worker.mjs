/**
 * @module bench/lib/agents-worker
 * Worker thread of bench/agents.mjs: small real HTTP agents (node:http, the kCore HTTP transport) that answer every
 * step `{"output": …}` at once. In a thread of their own so that their JavaScript does not run on the node's event
 * loop. Each step's time inside the agent (handler entered → response ended) is recorded on process.hrtime, the
 * one monotonic clock every thread of the process shares, so the main thread can subtract it from a task's wall time.
 */
import { createServer } from "node:http";
import { parentPort, workerData } from "node:worker_threads";

const now = () => Number(process.hrtime.bigint()) / 1e6;
/** taskId → [[start, end], …] in ms on process.hrtime */
let intervals = new Map();

const servers = [];
for (let i = 0; i < workerData.count; i++) {
  const server = createServer((req, res) => {
    const started = now();
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const step = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ output: { step: step.stepId, ok: true } }));
      const list = intervals.get(step.taskId) ?? [];
      list.push([started, now()]);
      intervals.set(step.taskId, list);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
}

parentPort.on("message", (message) => {
  if (message.type === "collect") {
    parentPort.postMessage({ type: "intervals", intervals: [...intervals] });
    intervals = new Map();
  } else if (message.type === "close") {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    parentPort.close();
  }
});
parentPort.postMessage({ type: "ready", urls: servers.map((server) => `http://127.0.0.1:${server.address().port}/step`) });
