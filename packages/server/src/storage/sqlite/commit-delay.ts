/**
 * @module storage/sqlite/commit-delay
 * When the write batcher should hold a batch back for a moment so that writes still on their way can join
 * it (like PostgreSQL's commit_delay), and when that only adds latency.
 *
 * Waiting pays off under concurrent load: requests in flight on other sockets arrive within the wait and
 * share the commit's fsync. It does not for one writer doing several writes in a row (a task's create with
 * its first commit, then its next step's commit a millisecond later): the previous batch looked "busy"
 * (more than one write, just now), yet nothing else ever joined, and every write paid the full delay.
 * So the policy learns: a batch that waited reports how many writes joined it *after its first turn* of
 * the event loop (those of the same turn would have joined anyway), and while that average stays below
 * half a write, batches stop waiting, except an occasional probe that notices load coming back.
 */

/** How long a batch may wait for more writes while the store is busy, ms. */
export const COMMIT_DELAY_MS = 1;
/** The store counts as busy when the previous commit was this recent, ms, and held more than one write. */
const BUSY_WINDOW_MS = 5;
/** Waiting continues while the moving average of writes that joined during a wait is at least this. */
const WORTH_WAITING = 0.5;
/** While waiting does not pay off, every this-many-th busy batch waits anyway, to see whether it does again. */
const PROBE_EVERY = 16;

export class CommitDelayPolicy {
  private lastCommitAt = Number.NEGATIVE_INFINITY;
  private lastBatchSize = 0;
  /** Moving average (halving) of the writes that joined a waiting batch after its first turn. */
  private joinedPerWait = 1;
  private busyWithoutWaiting = 0;

  /** A batch of `size` writes committed at `at` (performance.now()). */
  committed(size: number, at: number): void {
    this.lastCommitAt = at;
    this.lastBatchSize = size;
  }

  /** Whether the batch that starts now should wait `COMMIT_DELAY_MS` before committing. */
  shouldWait(now: number): boolean {
    // A lone sequential writer makes batches of one: it never waits.
    if (this.lastBatchSize <= 1 || now - this.lastCommitAt >= BUSY_WINDOW_MS) return false;
    if (this.joinedPerWait >= WORTH_WAITING) return true;
    if (++this.busyWithoutWaiting < PROBE_EVERY) return false;
    this.busyWithoutWaiting = 0;
    return true;
  }

  /** A batch that waited: `joined` writes arrived after the turn it started in. */
  waited(joined: number): void {
    this.joinedPerWait = (this.joinedPerWait + joined) / 2;
  }
}
