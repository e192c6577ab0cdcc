/**
 * @module bench/registry/ws-fanout-worker
 * One worker thread holding a share of the WebSocket subscribers. Each subscriber subscribes with
 * the fan-out capability filter; for every `registered` event of a fan-out service the worker notes
 * when each of its subscribers received it (process.hrtime, the same monotonic clock in every thread)
 * and reports to the main thread once all of them have it.
 */
import { parentPort, workerData } from "node:worker_threads";
import WebSocket from "ws";

const { wsUrl, token, count, capability, baseNs, connectBatch } = workerData;
const sockets = [];
/** id -> receive times (ns after baseNs) */
const received = new Map();
const anomalies = { snapshots: 0, errors: 0, closed: 0 };
let ready = 0;

function now() {
  return Number(process.hrtime.bigint() - BigInt(baseNs));
}

/** Tracks which subscribers got their first snapshot (later ones mean the server judged them lagging). */
const subscribed = new WeakSet();

function onMessage(socket, data) {
  const at = now();
  const message = JSON.parse(data.toString());
  if (message.type === "event") {
    if (message.event !== "registered" || !message.service.id.startsWith("fanout-")) return;
    let times = received.get(message.service.id);
    if (!times) received.set(message.service.id, (times = []));
    times.push(at);
    if (times.length === count) {
      received.delete(message.service.id);
      parentPort.postMessage({ type: "received", id: message.service.id, times });
    }
  } else if (message.type === "snapshot") {
    if (subscribed.has(socket)) anomalies.snapshots++;
    else {
      subscribed.add(socket);
      if (++ready === count) parentPort.postMessage({ type: "ready" });
    }
  } else if (message.type === "error") {
    anomalies.errors++;
    parentPort.postMessage({ type: "error", message: `${message.error?.code}: ${message.error?.message}` });
  }
}

function connect() {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    socket.once("open", () => {
      socket.send(JSON.stringify({ type: "subscribe", filter: { capability: [capability] } }));
      resolve(socket);
    });
    socket.once("error", reject);
    socket.on("message", (data) => onMessage(socket, data));
    socket.on("close", () => anomalies.closed++);
  });
}

for (let opened = 0; opened < count; opened += connectBatch) {
  const batch = Array.from({ length: Math.min(connectBatch, count - opened) }, connect);
  try {
    sockets.push(...(await Promise.all(batch)));
  } catch (error) {
    parentPort.postMessage({ type: "error", message: `connect failed: ${error.message}` });
    break;
  }
}

parentPort.on("message", (message) => {
  if (message.type === "stats") parentPort.postMessage({ type: "stats", anomalies });
  if (message.type === "close") {
    for (const socket of sockets) socket.terminate();
    parentPort.close();
  }
});
