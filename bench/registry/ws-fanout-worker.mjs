/**
 * @module bench/registry/ws-fanout-worker
 * One worker thread holding a share of the WebSocket subscribers. Each subscriber subscribes with
 * the fan-out capability filter; for every `registered` event of a fan-out service the worker notes
 * when each of its subscribers received it (process.hrtime, the same monotonic clock in every thread)
 * and reports to the main thread once all of them have it. With `perSocket` > 1 each socket carries that
 * many named subscriptions (the multiplexed layout, like etcd's watchers sharing a gRPC stream): one
 * frame names all of a socket's subscriptions, and each counts as received when the frame arrives.
 */
import { parentPort, workerData } from "node:worker_threads";
import WebSocket from "ws";

const { wsUrl, token, count, capability, baseNs, connectBatch } = workerData;
/** Named subscriptions per socket; 1 = one unnamed subscription per socket (the original protocol). */
const perSocket = workerData.perSocket ?? 1;
const socketCount = Math.ceil(count / perSocket);
const sockets = [];
/** id -> receive times (ns after baseNs) */
const received = new Map();
const anomalies = { snapshots: 0, errors: 0, closed: 0 };
let ready = 0;

function now() {
  return Number(process.hrtime.bigint() - BigInt(baseNs));
}

/** Which subscriptions (`socket index/subscription id`) got their first snapshot (later ones mean the server judged them lagging). */
const subscribed = new Set();

function onMessage(socket, data) {
  const at = now();
  const message = JSON.parse(data.toString());
  if (message.type === "event") {
    if (message.event !== "registered" || !message.service.id.startsWith("fanout-")) return;
    let times = received.get(message.service.id);
    if (!times) received.set(message.service.id, (times = []));
    const subscriptions = message.subscriptions?.length ?? 1;
    for (let index = 0; index < subscriptions; index++) times.push(at);
    if (times.length === count) {
      received.delete(message.service.id);
      parentPort.postMessage({ type: "received", id: message.service.id, times });
    }
  } else if (message.type === "snapshot") {
    const key = `${sockets.indexOf(socket)}/${message.subscription ?? ""}`;
    if (subscribed.has(key)) anomalies.snapshots++;
    else {
      subscribed.add(key);
      if (++ready === count) parentPort.postMessage({ type: "ready" });
    }
  } else if (message.type === "error") {
    anomalies.errors++;
    parentPort.postMessage({ type: "error", message: `${message.error?.code}: ${message.error?.message}` });
  }
}

function connect(subscriptions) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    // Known before any snapshot can arrive (the index names the socket in `subscribed`).
    sockets.push(socket);
    socket.once("open", () => {
      if (perSocket === 1) socket.send(JSON.stringify({ type: "subscribe", filter: { capability: [capability] } }));
      else for (let index = 0; index < subscriptions; index++) socket.send(JSON.stringify({ type: "subscribe", id: `s${index}`, filter: { capability: [capability] } }));
      resolve(socket);
    });
    socket.once("error", reject);
    socket.on("message", (data) => onMessage(socket, data));
    socket.on("close", () => anomalies.closed++);
  });
}

for (let opened = 0; opened < socketCount; opened += connectBatch) {
  const batch = Array.from({ length: Math.min(connectBatch, socketCount - opened) }, (_, index) =>
    connect(Math.min(perSocket, count - (opened + index) * perSocket)));
  try {
    await Promise.all(batch);
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
