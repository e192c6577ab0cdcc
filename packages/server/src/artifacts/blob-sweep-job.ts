/**
 * @module artifacts/blob-sweep-job
 * The blob garbage collection (blob-sweep.ts) as a singleton job (cluster/singleton-jobs.ts, `artifact-gc`): with
 * several instances of a node only the leading one sweeps, since they share the blob store and the metadata. The first
 * sweep runs a few minutes after this instance starts leading (not at once: a node restarting in a loop should not
 * list its bucket on every start), then every `artifacts.gc.intervalMinutes`. Sweeps never overlap; one in progress
 * when the instance stops leading is told to stop at its next blob, and is not waited for (a blob store that hangs
 * must not hold up the hand-over; a sweep beside the next leader's is harmless: each re-checks before it removes).
 */
import type { SingletonJob } from "../cluster/singleton-jobs.js";
import type { BlobSweep, BlobSweepResult } from "./blob-sweep.js";

/** The longest wait before the first sweep after this instance starts leading, ms. */
const FIRST_SWEEP_MAX_DELAY_MS = 5 * 60_000;

export interface BlobSweepJobOptions {
  sweep: Pick<BlobSweep, "run">;
  intervalMs: number;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** Wait before the first sweep, ms (default: the interval, at most five minutes). */
  firstDelayMs?: number;
}

export function blobSweepJob(options: BlobSweepJobOptions): SingletonJob & { runOnce(): Promise<BlobSweepResult | null> } {
  let first: NodeJS.Timeout | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<BlobSweepResult | null> | null = null;
  let abort: AbortController | null = null;

  const runOnce = (): Promise<BlobSweepResult | null> => {
    // A sweep still going when the next is due: that one is the next one.
    if (running) return running;
    const controller = new AbortController();
    abort = controller;
    running = (async () => {
      const started = Date.now();
      try {
        const result = await options.sweep.run({ signal: controller.signal });
        if (result.stagedRemoved > 0 || result.orphansRemoved > 0) {
          options.logger.info({ ...result, ms: Date.now() - started }, "artifact garbage collection removed leftover blobs");
        }
        return result;
      } catch (error) {
        // The message only (no stack in a log line); an S3 failure's message names the operation and error, no request.
        options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "artifact garbage collection failed; the next interval tries again");
        return null;
      } finally {
        running = null;
        if (abort === controller) abort = null;
      }
    })();
    return running;
  };

  return {
    name: "artifact-gc",
    start: () => {
      first = setTimeout(() => {
        first = null;
        void runOnce();
        timer = setInterval(() => void runOnce(), options.intervalMs);
        timer.unref();
      }, options.firstDelayMs ?? Math.min(options.intervalMs, FIRST_SWEEP_MAX_DELAY_MS));
      first.unref();
    },
    stop: () => {
      if (first) clearTimeout(first);
      if (timer) clearInterval(timer);
      first = null;
      timer = null;
      abort?.abort();
    },
    runOnce,
  };
}
