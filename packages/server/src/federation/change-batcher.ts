/**
 * @module federation/change-batcher
 * Coalesces federation changes (peers, origins, everything) and hands them to one piece of work at a time, at
 * most once per `delayMs`: a peer pushing a burst of changes makes a few signals and a few re-reads on the other
 * instances, not one per batch. Work that fails (the database went away) keeps its changes, merged with any
 * newer ones, and is tried again after `retryMs`: a change is dropped only when the batcher is closed.
 */
import type { FederationChange, LinkStatus } from "./coordination.js";

/** What changed since the last run. */
export interface FederationChanges {
  all: boolean;
  peers: boolean;
  origins: Set<string>;
  /** The latest state of each link that changed (older states of the same link are of no interest). */
  links: Map<string, LinkStatus>;
}

export function noChanges(): FederationChanges {
  return { all: false, peers: false, origins: new Set(), links: new Map() };
}

function isEmpty(changes: FederationChanges): boolean {
  return !changes.all && !changes.peers && changes.origins.size === 0 && changes.links.size === 0;
}

/** Merges `change` into `into`; `newer` says which of the two is the later news (for link states). */
function merge(into: FederationChanges, change: FederationChange | FederationChanges, newer = true): void {
  if (change.all) into.all = true;
  if (change.peers) into.peers = true;
  if ("origins" in change) {
    for (const origin of change.origins) into.origins.add(origin);
    for (const [did, status] of change.links) if (newer || !into.links.has(did)) into.links.set(did, status);
    return;
  }
  if (change.origin !== undefined) into.origins.add(change.origin);
  if (change.link) into.links.set(change.link.did, change.link);
}

export interface ChangeBatcherOptions {
  run: (changes: FederationChanges) => Promise<void>;
  delayMs: number;
  retryMs: number;
  onError: (error: unknown) => void;
}

export class ChangeBatcher {
  private pending = noChanges();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: ChangeBatcherOptions) {}

  mark(change: FederationChange): void {
    if (this.closed) return;
    merge(this.pending, change);
    this.schedule(this.options.delayMs);
  }

  /** Runs what is pending now (after the run in progress); resolves when done, failed or not. */
  async flush(): Promise<void> {
    this.clearTimer();
    if (this.running) await this.running;
    this.clearTimer();
    await this.runNow();
  }

  /** Stops scheduling; what is pending is dropped (call `flush` first to keep it). */
  close(): void {
    this.closed = true;
    this.clearTimer();
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.timer || this.running || isEmpty(this.pending)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runNow();
    }, delayMs);
    this.timer.unref();
  }

  private runNow(): Promise<void> {
    if (this.running) return this.running;
    const taken = this.pending;
    if (isEmpty(taken)) return Promise.resolve();
    this.pending = noChanges();
    this.running = this.options.run(taken).then(
      () => {
        this.running = null;
        this.schedule(this.options.delayMs);
      },
      (error: unknown) => {
        this.running = null;
        // Not lost: merged back with whatever arrived meanwhile, and tried again later.
        merge(this.pending, taken, false);
        this.options.onError(error);
        this.schedule(this.options.retryMs);
      },
    );
    return this.running;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
