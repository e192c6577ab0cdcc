/**
 * @module bench/lib/agents-client-worker
 * Worker thread of bench/agents.mjs phase 1: the client that submits each task (`POST /api/agent/task`), in a
 * thread of its own so that its HTTP work (serialising the request, parsing the 202) does not run on the node's
 * event loop, as a real client's would not. The submit time is read on process.hrtime, the clock every thread
 * of the process shares, right before the request goes out.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Pool } from "undici";
import { submitTask } from "./submit-task.mjs";

const now = () => Number(process.hrtime.bigint()) / 1e6;
const pool = new Pool(workerData.url, { connections: 1, keepAliveTimeout: 60_000 });

parentPort.on("message", async (message) => {
  if (message.type === "submit") {
    const started = now();
    try {
      const id = await submitTask(pool, workerData.token, message.body);
      parentPort.postMessage({ type: "submitted", id, started });
    } catch (error) {
      parentPort.postMessage({ type: "submitted", error: String(error?.message ?? error) });
    }
  } else if (message.type === "close") {
    await pool.close();
    parentPort.close();
  }
});
parentPort.postMessage({ type: "ready" });
