/**
 * @module backup/vacuum-into-worker
 * Runs SQLite's `VACUUM INTO` in a worker thread. better-sqlite3 is synchronous: on the event loop, copying a
 * 100k-service database (~7 s) would stop the node answering anything, heartbeats included, for that long. The
 * worker opens its own read-only connection, so the copy is still one read transaction (the database at one
 * instant), and WAL readers never block the node's writers.
 *
 * The worker's code is a short inline script (`eval`), for the reason storage/sqlite/background-checkpointer.ts
 * gives: it must run from the compiled `dist/` and from TypeScript sources under the test runner alike.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.source, { readonly: true, fileMustExist: true });
try {
  db.prepare("VACUUM INTO ?").run(workerData.target);
  parentPort.postMessage({ ok: true });
} catch (error) {
  parentPort.postMessage({ ok: false, message: String((error && error.message) || error) });
} finally {
  db.close();
}
`;

/** Copies the SQLite database at `source` into the new file `target`, off the event loop. */
export function vacuumInto(source: string, target: string): Promise<void> {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  return new Promise<void>((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, source, target } });
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve();
    };
    worker.on("message", (message: { ok: boolean; message?: string }) => settle(message.ok ? undefined : new Error(message.message ?? "VACUUM INTO failed")));
    worker.on("error", (error) => settle(error));
    worker.on("exit", (code) => settle(code === 0 ? undefined : new Error(`the snapshot thread exited with code ${code}`)));
  });
}
