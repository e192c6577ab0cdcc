/**
 * @module cluster/change-tailer
 * Follows the registry's event log in the shared database into this instance's change feed, so that watch
 * streams, the router, the health checker and the lease table see every change made on ANY instance, in one
 * revision order. The database assigns revisions in commit order without gaps (storage/postgres), so "read
 * every event after the last one published" is complete: nothing is skipped and nothing published twice.
 *
 * The read is woken three ways: a NOTIFY from the committing transaction (fast path, milliseconds; none when the
 * notified revision is published already, as this instance's own commits are), a poll
 * every `pollIntervalMs` (a NOTIFY lost while the listening connection was down costs at most one interval),
 * and a reconnect of the listening connection (re-read at once, as PostgreSQL's own advice goes). In a cluster
 * the feed has exactly one writer, this tailer: the registry's own commits wait for it (`waitFor`) instead of
 * publishing, so a local change can never overtake a remote one with a lower revision.
 */
import { REGISTRY_CHANGES_CHANNEL, type SharedStorage, type StoredChange } from "../storage/contracts/storage-backend.js";
import type { ServiceRecordStore } from "../storage/contracts/node-store.js";
import type { ChangeFeed } from "../registry/change-feed.js";
import type { Logger } from "../logging/logger.js";

export interface ChangeTailerOptions {
  storage: SharedStorage & Pick<ServiceRecordStore, "currentRevision">;
  feed: ChangeFeed;
  logger: Logger;
  pollIntervalMs: number;
  /** Events read per query. */
  batchSize?: number;
}

interface Waiter {
  revision: number;
  resolve: () => void;
}

export class ChangeTailer {
  private readonly batchSize: number;
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private waiters: Waiter[] = [];
  /** This instance's own committed changes not yet published (a change of another instance comes before them). */
  private readonly own = new Map<number, StoredChange>();
  private stopped = false;
  /** The last failed read, until a read succeeds. */
  private lastError: unknown = null;

  constructor(private readonly options: ChangeTailerOptions) {
    this.batchSize = options.batchSize ?? 1000;
  }

  /**
   * Fills the feed's window with the most recent changes (up to its retention), so a watcher can resume on this
   * instance from a revision it got on another one, even one from before this instance started.
   */
  static async prime(storage: SharedStorage, current: number, retention: number): Promise<{ from: number; changes: StoredChange[] }> {
    const from = Math.max(0, current - retention);
    const changes: StoredChange[] = [];
    let after = from;
    while (after < current) {
      const page = await storage.changesSince(after, 1000);
      if (page === "compacted") return { from: current, changes: [] };
      if (page.length === 0) break;
      changes.push(...page);
      after = page[page.length - 1]!.event.revision;
    }
    return { from, changes };
  }

  async start(): Promise<void> {
    this.unlisten = await this.options.storage.listen(
      REGISTRY_CHANGES_CHANNEL,
      (payload) => this.notified(payload),
      () => this.kick(),
    );
    this.timer = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.unlisten?.().catch(() => undefined);
    await this.running;
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
  }

  /**
   * A NOTIFY carries the last revision of the batch that committed. The feed publishes in revision order without
   * gaps, so at or below its revision everything (this instance's and every other's) is published already: no read.
   * That is the usual case for this instance's own commits, published from memory (`committed`). The NOTIFY may
   * overtake the reply to this instance's own COMMIT (it travels on another connection), so a revision still ahead
   * is checked again one turn of the event loop later, when that reply has usually been handled; a change of another
   * instance is read then, less than a millisecond later. A payload that is not a revision always reads.
   */
  private notified(payload: string): void {
    const revision = /^\d+$/.test(payload) ? Number(payload) : NaN;
    if (!Number.isSafeInteger(revision)) return this.kick();
    if (revision <= this.options.feed.revision) return;
    setImmediate(() => {
      if (revision > this.options.feed.revision) this.kick();
    });
  }

  /** Reads whatever is new (coalesced: a kick while a read runs makes one more read after it). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /**
   * A change THIS instance committed, as its write returned it (every registry write is conditional on the
   * record's revision, so the `previous` the registry read is the one the log holds). When it is the next revision
   * it is published at once, without reading it back from the database; otherwise it waits, like any commit, until
   * the changes before it (another instance's) have been read, and is published after them. Resolves once published.
   */
  committed(change: StoredChange): Promise<void> {
    const revision = change.event.revision;
    if (revision > this.options.feed.revision) {
      this.own.set(revision, change);
      this.publishOwn();
    }
    return this.waitFor(revision);
  }

  /** Publishes held own changes that are now next in line, and forgets those the log read already published. */
  private publishOwn(): void {
    const { feed } = this.options;
    for (let next = feed.revision + 1, change = this.own.get(next); change; next++, change = this.own.get(next)) {
      this.own.delete(next);
      feed.publish(change);
    }
    for (const revision of this.own.keys()) if (revision <= feed.revision) this.own.delete(revision);
    this.release();
  }

  /**
   * Resolves once the feed has published `revision` (a commit of this instance waits here, so that its caller
   * sees its own change on the feed, as with one process). Kicks a read at once: the commit just happened.
   */
  waitFor(revision: number): Promise<void> {
    if (this.options.feed.revision >= revision || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push({ revision, resolve });
      this.kick();
    });
  }

  private async drain(): Promise<void> {
    const { storage, feed, logger } = this.options;
    try {
      for (;;) {
        const page = await storage.changesSince(feed.revision, this.batchSize);
        if (page === "compacted") {
          // This instance fell further behind than the log keeps (cut off for long). Its feed cannot be made whole:
          // it jumps to the present, so resumes from before the jump get snapshots instead of a silent gap.
          const current = await storage.currentRevision();
          feed.jumpTo(current);
          logger.error({ revision: current }, "the registry event log was compacted past this instance's position; watch streams resuming from before it get snapshots");
          this.release();
          return;
        }
        // Own changes may have been published from memory meanwhile: only what is still ahead of the feed.
        for (const change of page) if (change.event.revision > feed.revision) feed.publish(change);
        this.publishOwn();
        this.lastError = null;
        if (page.length < this.batchSize) return;
      }
    } catch (error) {
      if (!this.stopped) {
        this.lastError = error;
        logger.warn({ err: error }, "reading the registry event log failed; retrying on the next notification or poll");
      }
    }
  }

  private release(): void {
    const revision = this.options.feed.revision;
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.revision <= revision) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  /** The last failure of a read (null once reads succeed again); for readiness and `GET /api/cluster`. */
  get failure(): unknown {
    return this.lastError;
  }
}
