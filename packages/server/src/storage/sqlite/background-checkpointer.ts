/**
 * @module storage/sqlite/background-checkpointer
 * Moves WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the COMMIT that
 * crosses the threshold, so one unlucky request pays for copying thousands of pages back into the
 * database file and fsyncing it (measured: a 660 ms registration at 100k services, right after a bulk load).
 * A worker thread with its own connection runs PASSIVE checkpoints on a timer instead: they never take the
 * writer's lock, so commits on the main connection go on while pages are copied. The main connection keeps
 * a high automatic threshold only as a backstop in case the worker falls behind or dies.
 *
 * Catching up. SQLite starts the WAL again from its beginning only once a checkpoint has copied its last frame,
 * and a concurrent checkpoint under a steady stream of commits never has: it copies the frames there were when it
 * started, and commits append more while it runs. So the WAL only grew, and every commit appended to it (an fsync
 * that must also journal the file's new size: measured ~30 % of a small commit's time on this VM's ext4) until the
 * backstop's checkpoint, inside some unlucky commit. Now, after a checkpoint of a WAL of CATCH_UP_FRAMES or more,
 * the checkpointer asks the store to hold writes for a moment (`holdWrites`, the write batcher's) and checkpoints the
 * rest: only the frames written during the concurrent one, so usually a millisecond or two. The tick first checkpoints again what was written while it
 * ran, a few passes while that shrinks; writes that outrun it are not held (CATCH_UP_TAIL_FRAMES). A hold ends when
 * the worker answers or after CATCH_UP_TIMEOUT_MS, whichever is first; a timed-out catch-up leaves the checkpoint
 * to run on with writes going on (nothing is lost, the WAL just does not start again that time). After a long or
 * timed-out hold (a bulk load's large transactions) the next catch-ups wait longer, so such a load is held
 * rarely.
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
const passive = () => db.pragma("wal_checkpoint(PASSIVE)")[0];
// A tick checkpoints again what was written while it ran, while that is more than a short tail (a few passes at
// most), and says how much the last pass found added: what a catch-up would still have to copy.
const checkpoint = (type) => {
  try {
    let row = passive();
    let added = 0;
    for (let pass = 1; type === "checkpoint" && pass < 4; pass++) {
      const next = passive();
      added = next.log - row.log;
      row = next;
      if (added <= workerData.shortTail) break;
    }
    parentPort.postMessage({ type, log: row.log, checkpointed: row.checkpointed, added });
  } catch (error) {
    parentPort.postMessage({ type: "error", message: String(error && error.message || error), catchUp: type === "caught-up" });
  }
};
const tick = () => stopped || checkpoint("checkpoint");
let timer = setInterval(tick, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message === "catch-up") {
    if (stopped) return;
    checkpoint("caught-up");
    // The next tick a whole interval later: one beside the first write after the hold could hold a read lock just
    // when that write rewinds the WAL, and the rewind would not happen.
    clearInterval(timer);
    timer = setInterval(tick, workerData.intervalMs);
    return;
  }
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
  /** A catch-up: run while the store held its writes. */
  catchUp?: boolean;
}

/** A checkpoint of a WAL this long, in frames (~4 MiB of 4 KiB pages), is followed by a catch-up. */
const CATCH_UP_FRAMES = 1000;
/**
 * A catch-up is asked for only when the checkpoint's last pass found at most this many frames added while the one
 * before it ran: writes that outrun the checkpointer (a bulk load) would make the hold long, so it waits for them.
 */
const CATCH_UP_TAIL_FRAMES = 256;
/** Writes are held this long at most; a catch-up that takes longer goes on without holding them. */
const CATCH_UP_TIMEOUT_MS = 25;
/**
 * A hold longer than this counts as long: right after a large transaction (a bulk load's 1,000 services) the catch-up
 * has its frames to copy, and holding each such batch cost the load ~8 % of its rate (measured).
 */
const CATCH_UP_SLOW_MS = 10;
/** After a long catch-up, this many checkpoints pass before the next one asks again (doubling, up to the max). */
const CATCH_UP_BACKOFF_MAX = 64;

export interface BackgroundCheckpointerOptions {
  path: string;
  intervalMs: number;
  /** Told about failures (the store's logger); a failed checkpoint is retried on the next tick. */
  onError?: (message: string) => void;
  /** Every completed checkpoint (tests, diagnostics). */
  onCheckpoint?: (stats: CheckpointStats) => void;
  /**
   * Holds the store's writes while `work` runs (WriteBatcher.holdWrites); without it there is no catch-up and the
   * WAL starts again only when a checkpoint happens to land in a pause between writes.
   */
  holdWrites?: (work: () => Promise<void>) => void;
  /** The WAL length, in frames, from which a checkpoint is followed by a catch-up (default CATCH_UP_FRAMES; tests). */
  catchUpFrames?: number;
}

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private stopping: Promise<void> | null = null;
  /** Ends the running catch-up's hold (the worker answered, timed out, or went away). */
  private endHold: (() => void) | null = null;
  /** Checkpoints still to pass before the next catch-up, and the wait set after a long hold. */
  private skip = 0;
  private backoff = 1;
  /** The WAL's frames at the last catch-up. */
  private lastCatchUpLog = -1;

  constructor(private readonly options: BackgroundCheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: options.path, intervalMs: options.intervalMs, driver, shortTail: CATCH_UP_TAIL_FRAMES } });
    // The store's lifetime, not this thread, decides when the process may exit.
    this.worker.unref();
    this.worker.on("message", (message: { type: string; log?: number; checkpointed?: number; added?: number; message?: string; catchUp?: boolean }) => {
      if (message.type === "checkpoint" || message.type === "caught-up") {
        const stats: CheckpointStats = { log: message.log ?? 0, checkpointed: message.checkpointed ?? 0 };
        if (message.type === "caught-up") {
          stats.catchUp = true;
          this.lastCatchUpLog = stats.log;
          this.endHold?.();
        } else this.considerCatchUp(stats, message.added ?? 0);
        options.onCheckpoint?.(stats);
      } else if (message.type === "error") {
        if (message.catchUp) this.endHold?.();
        options.onError?.(message.message ?? "checkpoint failed");
      }
    });
    this.worker.on("error", (error) => options.onError?.(error.message));
    this.worker.on("exit", () => this.endHold?.());
  }

  /** After a tick: asks for a hold when the WAL is long and the tick's last pass found only a short tail (module comment). */
  private considerCatchUp(stats: CheckpointStats, added: number): void {
    const holdWrites = this.options.holdWrites;
    if (!holdWrites || this.stopping || this.endHold || added > CATCH_UP_TAIL_FRAMES) return;
    // `log` is the WAL as the checkpoint found it when it started; commits made while it ran are not in it, so a
    // checkpoint that copied all of `log` has not caught up either. A WAL that has not grown since the last
    // catch-up (no writes) starts again at the next write by itself.
    if (stats.log < (this.options.catchUpFrames ?? CATCH_UP_FRAMES) || stats.log === this.lastCatchUpLog) return;
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    holdWrites(
      () =>
        new Promise<void>((resolve) => {
          const began = performance.now();
          // A hold that was long (or cut short) makes the next catch-ups rarer; a short one brings them back.
          const end = (long: boolean) => {
            clearTimeout(timer);
            this.endHold = null;
            if (long) {
              this.backoff = Math.min(this.backoff * 2, CATCH_UP_BACKOFF_MAX);
              this.skip = this.backoff;
            } else this.backoff = 1;
            resolve();
          };
          const timer = setTimeout(() => end(true), CATCH_UP_TIMEOUT_MS);
          this.endHold = () => end(performance.now() - began > CATCH_UP_SLOW_MS);
          this.worker.postMessage("catch-up");
        }),
    );
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
