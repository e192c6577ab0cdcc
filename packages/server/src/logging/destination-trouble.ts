/**
 * @module logging/destination-trouble
 * What a log destination (a sonic-boom: stdout, or one of the log files) does when it cannot write: a full disk,
 * an I/O error. Logging must never take the node down, so:
 * - the destination's 'error' is always handled. Unhandled, it is an uncaught exception (pino re-emits every error
 *   but EPIPE), and a synchronous destination throws it at whoever logged the line;
 * - the operator is told once per spell, on stderr and without a stack, and again when writes succeed;
 * - what the destination holds meanwhile is capped by its `maxLength` (set where it is made): past it, lines drop;
 * - `flushSync` is skipped while failing: sonic-boom 4 retries a write that fails with anything but EAGAIN forever,
 *   so the flush pino runs at process exit (or ours at shutdown) would never return (seen: a node whose stdout was
 *   /dev/full hung at start, at 44 % CPU, inside pino's exit handler).
 */
import type pino from "pino";

export type Destination = ReturnType<typeof pino.destination>;

/** Most bytes a destination holds while it cannot write; past this, new lines are dropped. */
export const MAX_HELD_BYTES = 1024 * 1024;

/** Reports to stderr, where a node's own trouble goes when its log cannot carry it. */
const reportOnStderr = (message: string): void => void process.stderr.write(`kai: ${message}\n`);

/** A destination watched as above; `failing()` says whether its last write failed. */
export interface WatchedDestination {
  readonly destination: Destination;
  failing(): boolean;
}

/** Watches `destination` (called `name` in the reports). `report` hears of each failing spell and its end. */
export function watchDestination(destination: Destination, name: string, report: (message: string) => void = reportOnStderr): WatchedDestination {
  let failing = false;
  destination.on("error", (error: NodeJS.ErrnoException) => {
    if (failing) return;
    failing = true;
    report(`cannot write ${name} (${error.code ?? error.message}); its lines are held in memory up to 1 MiB, then dropped, until it can be written again`);
  });
  destination.on("write", () => {
    if (!failing) return;
    failing = false;
    report(`${name} is written again`);
  });
  const flushSync = destination.flushSync.bind(destination);
  destination.flushSync = () => {
    if (!failing) flushSync();
  };
  return { destination, failing: () => failing };
}
