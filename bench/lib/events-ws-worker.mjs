/**
 * @module bench/lib/events-ws-worker
 * Worker thread of bench/agents.mjs: WebSocket clients of the node's `/ws/events`, in a thread of their own so that
 * parsing their frames does not run on the node's event loop. Two modes:
 * - `fanout`: `count` sockets; every event carrying `payload.sentAt` (process.hrtime ms, set by the publisher in the
 *   main thread: one clock) is timed on receipt.
 * - `tasks`: one socket following TASK_PROGRESS; reports each task's terminal state and when it was received.
 */
import { parentPort, workerData } from "node:worker_threads";
import WebSocket from "ws";

const now = () => Number(process.hrtime.bigint()) / 1e6;
const { url, token, count, query, mode } = workerData;
let latencies = [];
let closedEarly = 0;
let dropped = 0;
const sockets = [];

function open() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${url}/ws/events?${query}`, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    socket.on("close", () => {
      if (!closing) closedEarly++;
    });
    socket.on("message", (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === "dropped") {
        dropped++;
        return;
      }
      if (message.type !== "event") return;
      const { event } = message;
      if (mode === "fanout") {
        if (typeof event.payload.sentAt === "number") latencies.push(now() - event.payload.sentAt);
      } else if (event.payload.step === undefined && ["completed", "failed", "canceled", "rejected"].includes(event.payload.state)) {
        parentPort.postMessage({ type: "done", taskId: event.taskId, state: event.payload.state, at: now() });
      }
    });
  });
}

let closing = false;
// Opened in batches: a thousand handshakes at once only measure the accept queue.
for (let i = 0; i < count; i += 50) {
  const batch = await Promise.all(Array.from({ length: Math.min(50, count - i) }, open));
  sockets.push(...batch);
}

parentPort.on("message", (message) => {
  if (message.type === "collect") {
    parentPort.postMessage({ type: "latencies", latencies, closedEarly, dropped, open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length });
    latencies = [];
  } else if (message.type === "close") {
    closing = true;
    for (const socket of sockets) socket.terminate();
    parentPort.close();
  }
});
parentPort.postMessage({ type: "ready", sockets: sockets.length });
