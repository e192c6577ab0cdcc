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
 */
import type { Logger, MultiStreamRes } from "pino";

interface LevelState {
  children: Logger[];
  tracking: boolean;
  streams: MultiStreamRes | undefined;
}

const states = new WeakMap<Logger, LevelState>();

/** Pino's `onChild` option for a root logger about to be made, and `adopt` to call with that root once made. */
export function levelTracking(streams: MultiStreamRes | undefined): { onChild: (child: Logger) => void; adopt: (root: Logger) => void } {
  const state: LevelState = { children: [], tracking: true, streams };
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
  const value = root.levels.values[level];
  if (state.streams && value !== undefined) {
    for (const entry of state.streams.streams) (entry as unknown as { level: number }).level = value;
    (state.streams as unknown as { minLevel: number }).minLevel = value;
  }
}
