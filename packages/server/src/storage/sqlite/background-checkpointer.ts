/**
 * @module storage/sqlite/background-checkpointer
 * Moves WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the COMMIT that
 * crosses the threshold, so one unlucky request pays for copying thousands of pages back into the
 * database file and fsyncing it (measured: a 660 ms registration at 100k services, right after a bulk load).
 * A worker thread with its own connection runs PASSIVE checkpoints on a timer instead: they never take the
 * writer's lock, so commits on the main connection go on while pages are copied. The main connection keeps
 * a high automatic threshold only as a backstop in case the worker falls behind or dies.
 *
 * The worker's code is a short inline script (`eval`) rather than a module file: it must run both from
 * the compiled `dist/` and from TypeScript sources under the test runner, and Node 20 cannot start a
 * worker from a `.ts` file. It loads the same better-sqlite3 the store uses, by resolved path.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma("busy_timeout = 5000");
let stopped = false;
const tick = () => {
  if (stopped) return;
  try {
    const [row] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ type: "checkpoint", log: row.log, checkpointed: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ type: "error", message: String(error && error.message || error) });
  }
};
const timer = setInterval(tick, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message !== "stop") return;
  stopped = true;
  clearInterval(timer);
  db.close();
  parentPort.postMessage({ type: "stopped" });
});
`;

export interface CheckpointStats {
  /** Frames in the WAL at the last checkpoint. */
  log: number;
  /** Frames of those copied back into the database file. */
  checkpointed: number;
}

export interface BackgroundCheckpointerOptions {
  path: string;
  intervalMs: number;
  /** Told about failures (the store's logger); a failed checkpoint is retried on the next tick. */
  onError?: (message: string) => void;
  /** Every completed checkpoint (tests, diagnostics). */
  onCheckpoint?: (stats: CheckpointStats) => void;
}

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private stopping: Promise<void> | null = null;

  constructor(options: BackgroundCheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: options.path, intervalMs: options.intervalMs, driver } });
    // The store's lifetime, not this thread, decides when the process may exit.
    this.worker.unref();
    this.worker.on("message", (message: { type: string; log?: number; checkpointed?: number; message?: string }) => {
      if (message.type === "checkpoint") options.onCheckpoint?.({ log: message.log ?? 0, checkpointed: message.checkpointed ?? 0 });
      else if (message.type === "error") options.onError?.(message.message ?? "checkpoint failed");
    });
    this.worker.on("error", (error) => options.onError?.(error.message));
  }

  /** Closes the worker's connection and ends the thread; the store's own close then does the final checkpoint. */
  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 5000);
      timer.unref();
      this.worker.on("message", (message: { type: string }) => {
        if (message.type !== "stopped") return;
        clearTimeout(timer);
        void this.worker.terminate().then(() => resolve());
      });
      this.worker.on("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      this.worker.postMessage("stop");
    });
    return this.stopping;
  }
}
