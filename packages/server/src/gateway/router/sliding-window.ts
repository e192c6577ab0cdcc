/**
 * @module gateway/router/sliding-window
 * A per-second bucketed sliding window: how much (requests or tokens) was used in the last minute, and
 * how long until enough of it slides out to admit more. Backs the per-service RPM and TPM limits.
 *
 * Hand-written because no installed library fits: the limiter must be *asked* without consuming (a
 * service at its limit is skipped, not queued), tokens are charged after the answer arrived (a TPM
 * figure is only known then), and the router needs the exact wait for `Retry-After`. Sixty counters per
 * service and limit are all it takes.
 */

export class SlidingWindow {
  private readonly counts: number[];
  /** The bucket index (time / bucketMs) each slot last held; a stale slot counts as empty. */
  private readonly stamps: number[];
  private readonly slots: number;

  constructor(
    private readonly windowMs = 60_000,
    private readonly bucketMs = 1_000,
  ) {
    this.slots = Math.ceil(windowMs / bucketMs);
    this.counts = new Array<number>(this.slots).fill(0);
    this.stamps = new Array<number>(this.slots).fill(-1);
  }

  /** Adds `amount` at time `now`. */
  add(amount: number, now: number): void {
    if (amount <= 0) return;
    const bucket = Math.floor(now / this.bucketMs);
    const slot = bucket % this.slots;
    if (this.stamps[slot] !== bucket) {
      this.stamps[slot] = bucket;
      this.counts[slot] = 0;
    }
    this.counts[slot]! += amount;
  }

  /** The total within the window ending at `now`. */
  total(now: number): number {
    const bucket = Math.floor(now / this.bucketMs);
    let sum = 0;
    for (let i = 0; i < this.slots; i++) {
      const stamp = this.stamps[i]!;
      if (stamp > bucket - this.slots && stamp <= bucket) sum += this.counts[i]!;
    }
    return sum;
  }

  /** Ms from `now` until the total drops below `limit` (0 when it already is). */
  waitUntilBelow(limit: number, now: number): number {
    let total = this.total(now);
    if (total < limit) return 0;
    const bucket = Math.floor(now / this.bucketMs);
    // Walk the live buckets oldest first; each one leaves the window when its bucket is `slots` old.
    const live: Array<[number, number]> = [];
    for (let i = 0; i < this.slots; i++) {
      const stamp = this.stamps[i]!;
      if (stamp > bucket - this.slots && stamp <= bucket && this.counts[i]! > 0) live.push([stamp, this.counts[i]!]);
    }
    live.sort((a, b) => a[0] - b[0]);
    for (const [stamp, count] of live) {
      total -= count;
      if (total < limit) return Math.max(0, (stamp + this.slots) * this.bucketMs - now);
    }
    return this.windowMs;
  }
}
