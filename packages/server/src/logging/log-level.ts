/**
 * @module logging/log-level
 * Changing the log level of a running node (`PATCH /api/config` of `logging.level`). Pino copies the level into each
 * child logger when the child is made and never looks at its parent again, and the node's parts keep children made
 * while the node starts (kCore's, kPlanner's, memory's…). So the root remembers the children made until
 * `stopTrackingChildren` (server.ts calls it once started), and a change is applied to the root, those children and
 * every destination of the multistream (each has its own threshold).
 *
 * Children made later (per task, per plan, a request's lazy logger) are not remembered: they come from a remembered
 * parent and take its level when made, so they follow a change from their next creation on; one already alive keeps
 * its level until it ends. Remembering those too would need a weak reference per child, and a weak reference keeps
 * its target past young-generation collections: measured at several µs per child (and old-generation growth) on
 * the request and task paths, too much for a setting changed by hand.
 *
 * One destination is held at info at the most: the security log file's (`floored`), so that a level above info
 * still records every security event (logging/security-lines.ts). The multistream stops at the first destination
 * whose threshold is above a line's level, so its list is kept sorted by threshold after a change.
 */
import pino, { type Logger, type MultiStreamRes } from "pino";

interface LevelState {
  children: Logger[];
  tracking: boolean;
  streams: MultiStreamRes | undefined;
  /** Destinations whose threshold stays at info at the most (the security log file's). */
  floored: ReadonlySet<object>;
}

/** pino's info: the highest threshold a floored destination takes. */
export const FLOOR_LEVEL = "info";
const FLOOR_VALUE = pino.levels.values[FLOOR_LEVEL]!;

/** A level's value as a destination's threshold: pino's, and `silent` (no value in pino's table) is "nothing". */
function thresholdOf(level: string): number | undefined {
  return level === "silent" ? Infinity : pino.levels.values[level];
}

/** The threshold of a destination for `level`: its own, or info at the most for a floored one. */
export function destinationLevel(level: string, floored: boolean): string {
  return floored && (thresholdOf(level) ?? -Infinity) > FLOOR_VALUE ? FLOOR_LEVEL : level;
}

const states = new WeakMap<Logger, LevelState>();

/** Pino's `onChild` option for a root logger about to be made, and `adopt` to call with that root once made. */
export function levelTracking(streams: MultiStreamRes | undefined, floored: ReadonlySet<object> = new Set()): { onChild: (child: Logger) => void; adopt: (root: Logger) => void } {
  const state: LevelState = { children: [], tracking: true, streams, floored };
  return {
    onChild: (child) => {
      if (state.tracking) state.children.push(child);
    },
    adopt: (root) => void states.set(root, state),
  };
}

/** Stops remembering new children of `root` (once the node's long-lived parts have made theirs). */
export function stopTrackingChildren(root: Logger): void {
  const state = states.get(root);
  if (state) state.tracking = false;
}

/** Sets the level of `root`, the children it remembers and its destinations. */
export function setLogLevel(root: Logger, level: string): void {
  root.level = level;
  const state = states.get(root);
  if (!state) return;
  for (const child of state.children) child.level = level;
  const value = thresholdOf(level);
  if (state.streams && value !== undefined) {
    const entries = state.streams.streams as unknown as Array<{ level: number; stream: object }>;
    for (const entry of entries) entry.level = thresholdOf(destinationLevel(level, state.floored.has(entry.stream)))!;
    entries.sort((a, b) => a.level - b.level);
    (state.streams as unknown as { minLevel: number }).minLevel = entries[0]?.level ?? value;
  }
}
