/**
 * @module registry/change-feed
 * The in-process stream of registry changes, in revision order. Watch streams, the health checker and
 * (later) federation listen here. It keeps the most recent changes, each with the record's previous
 * state, so that a watcher resuming from a recent revision gets exactly what it missed and can be told
 * when a service left its view. Changes older than the window, or from before this process started,
 * are not replayed: such a watcher gets a fresh snapshot instead.
 */
import type { RegistryEvent, ServiceRecord } from "@kai/protocol";
import type { Logger } from "../logging/logger.js";

export interface Change {
  event: RegistryEvent;
  /** The record before this change; null for a new registration. */
  previous: ServiceRecord | null;
}

export type ChangeListener = (change: Change) => void;

export class ChangeFeed {
  /**
   * The window is `items[head..]`. Slots before `head` are cleared as they slide out (issue 19): otherwise the
   * array, compacted only every `retention` publishes, kept up to twice the window alive, i.e. 20,000 full
   * records (with their previous states) instead of 10,000 by default.
   */
  private items: Array<Change | undefined> = [];
  private head = 0;
  private readonly listeners = new Set<ChangeListener>();
  /** Every change after this revision is in the window (until it slides). */
  private coveredFrom: number;
  private latest: number;

  constructor(
    startRevision: number,
    private readonly retention: number,
    private readonly logger?: Logger,
  ) {
    this.coveredFrom = startRevision;
    this.latest = startRevision;
  }

  /** The revision of the newest change published. */
  get revision(): number {
    return this.latest;
  }

  publish(change: Change): void {
    const revision = change.event.revision;
    if (revision <= this.latest) {
      // Storage hands out revisions in commit order and publication follows it; anything else is a bug worth seeing.
      this.logger?.warn({ revision, latest: this.latest }, "change published out of order");
    } else {
      this.latest = revision;
    }
    this.items.push(change);
    if (this.items.length - this.head > this.retention) {
      const dropped = this.items[this.head];
      this.items[this.head] = undefined;
      this.head++;
      if (dropped) this.coveredFrom = dropped.event.revision;
      // Compact the array now and then instead of shifting on every publish.
      if (this.head > this.retention) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    }
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger?.error({ err: error }, "change listener failed");
      }
    }
  }

  /**
   * Forgets the window and continues from `revision` (a cluster instance whose place in the shared event log
   * was compacted away): resuming from any earlier revision gets a snapshot, never a silent gap.
   */
  jumpTo(revision: number): void {
    if (revision <= this.latest) return;
    this.items = [];
    this.head = 0;
    this.coveredFrom = revision;
    this.latest = revision;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The changes after `revision`, oldest first; null when they are not all in the window. */
  changesSince(revision: number): Change[] | null {
    if (revision < this.coveredFrom || revision > this.latest) return null;
    const out: Change[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const change = this.items[i]!;
      if (change.event.revision > revision) out.push(change);
    }
    return out;
  }
}
