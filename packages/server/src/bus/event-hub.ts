/**
 * @module bus/event-hub
 * Fans the bus out to client subscribers (`GET /api/events`, `/ws/events`), each with its filter and the caller's
 * access (bus/event-access.ts), from two sources: the bus (every instance's events) and this instance's registry
 * change feed (REGISTRY_CHANGE, local on every instance).
 *
 * Each subscriber has a bounded queue that its transport drains at the pace of its socket:
 * - a live subscription (no `task`) that falls `maxQueued` events behind gets everything queued so far, then a
 *   `slow_consumer` notice, and is closed: never silently skipped, and its backlog never holds the node's memory;
 * - a task subscription (`task`) follows the task's sequence numbers and reads what it did not get live from the
 *   TaskEventLog: `after` replays the stored events first, then it continues live with no gap and no duplicate.
 *   The live listener is attached before the replay reads the log, an event whose seq it already delivered is
 *   dropped, and an event that skips ahead (a lost bus message, a full queue, the replay still running) makes it
 *   read the log from its last seq again. It is paced by its reader, not dropped: everything it needs is stored.
 */
import type { BusDroppedNotice, BusEvent, BusEventFilter } from "@kai/protocol";
import { matchesBusFilter } from "@kai/protocol";
import type { ChangeFeed } from "../registry/change-feed.js";
import type { Viewer } from "../storage/contracts/viewer.js";
import type { EventBus } from "./event-bus.js";
import { mayReceive, type HubEvent } from "./event-access.js";
import { registryChangeEvent } from "./registry-change-events.js";
import type { TaskEventLog } from "./task-event-log.js";
import { StreamQuota } from "./stream-quota.js";

export type HubItem = { type: "event"; event: BusEvent } | { type: "dropped"; notice: BusDroppedNotice };

/** One client's subscription, drained by its transport. */
export interface EventSubscription {
  /** The next item; null once the subscription has ended (closed, or after its dropped notice). */
  next(): Promise<HubItem | null>;
  /** Ends it (the client went away); pending `next` calls resolve null. */
  close(): void;
  /** Ends it after what is queued with a dropped notice (the server shutting down). */
  drop(reason: BusDroppedNotice["reason"]): void;
}

export interface EventHubOptions {
  bus: EventBus;
  taskEvents: TaskEventLog;
  /** This instance's registry changes; without it, no REGISTRY_CHANGE events. */
  feed?: Pick<ChangeFeed, "subscribe">;
  /** Events a subscriber may have waiting (config `bus.maxQueuedEvents`). */
  maxQueued: number;
  /** Events read from the log per query. */
  pageSize?: number;
  /** Event streams one token may hold open (config `bus.maxStreamsPerToken`); default 100. */
  maxStreamsPerToken?: number;
  onError?: (error: unknown) => void;
}

class Subscriber implements EventSubscription {
  private readonly queue: HubItem[] = [];
  private wake: (() => void) | null = null;
  private space: (() => void) | null = null;
  private ended = false;
  /** Task subscriptions: the last seq delivered (or skipped by the filter); undefined until known. */
  private lastSeq: number | undefined;
  /** What the dropped notice tells as `lastSeq`: only seqs of events the caller may receive (never another's progress). */
  private toldSeq: number | undefined;
  private catchingUp = false;
  /** Live events of the task that arrived while the log was being read, by seq, with when they arrived. */
  private readonly pending = new Map<number, { event: BusEvent; arrival: number }>();
  private arrivals = 0;

  constructor(
    readonly viewer: Viewer,
    readonly filter: BusEventFilter,
    private readonly hub: { maxQueued: number; pageSize: number; log: TaskEventLog; onError: (error: unknown) => void; detach(s: Subscriber): void },
  ) {
    this.lastSeq = filter.task !== undefined ? filter.after : undefined;
    this.toldSeq = this.lastSeq;
  }

  /** Called once attached to the hub: a replay (`after`) starts reading the log only now. */
  start(): void {
    if (this.lastSeq !== undefined && !this.ended) this.catchUp();
  }

  async next(): Promise<HubItem | null> {
    for (;;) {
      const item = this.queue.shift();
      if (item) {
        if (this.queue.length < this.hub.maxQueued) this.space?.();
        return item;
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    this.hub.detach(this);
    this.wake?.();
    this.space?.();
  }

  /** Ends it after what is queued with a notice: the slow consumer, or the node shutting down. */
  drop(reason: BusDroppedNotice["reason"]): void {
    if (this.ended) return;
    const notice: BusDroppedNotice = { dropped: true, reason, ...(this.toldSeq !== undefined ? { lastSeq: this.toldSeq } : {}) };
    this.queue.push({ type: "dropped", notice });
    this.ended = true;
    this.hub.detach(this);
    this.wake?.();
    this.space?.();
  }

  /** An event from the bus or the feed that this subscriber may receive. */
  offer(item: HubEvent): void {
    if (this.ended) return;
    const { event } = item;
    if (this.filter.task !== undefined && event.seq !== undefined) return this.offerTaskEvent(event);
    if (!matchesBusFilter(event, this.filter)) return;
    if (this.queue.length >= this.hub.maxQueued) return this.drop("slow_consumer");
    this.push(event);
  }

  private offerTaskEvent(event: BusEvent): void {
    const seq = event.seq!;
    // A subscription without `after` starts with the first event it sees live.
    this.lastSeq ??= seq - 1;
    if (seq <= this.lastSeq) return; // delivered already (replayed, or a second copy)
    if (!this.catchingUp && seq === this.lastSeq + 1 && this.queue.length < this.hub.maxQueued) {
      this.deliver(event);
      return;
    }
    // Out of order, a full queue, or the log being read: the log has it (stored before published).
    if (this.pending.size < this.hub.maxQueued) this.pending.set(seq, { event, arrival: ++this.arrivals });
    if (!this.catchingUp) this.catchUp();
  }

  private deliver(event: BusEvent): void {
    this.lastSeq = event.seq;
    if (!mayReceive(this.viewer, { event })) return;
    this.toldSeq = event.seq;
    if (matchesBusFilter(event, this.filter)) this.push(event);
  }

  private push(event: BusEvent): void {
    this.queue.push({ type: "event", event });
    this.wake?.();
  }

  /** Reads the task's events after lastSeq from the log, as fast as the reader takes them, until it has them all. */
  private catchUp(): void {
    this.catchingUp = true;
    void this.readLog().catch((error: unknown) => {
      this.hub.onError(error);
      // A task subscription that cannot read its log cannot promise anything: say so and end it.
      this.drop("shutting_down");
    });
  }

  private async readLog(): Promise<void> {
    try {
      await this.readUntilCaughtUp();
    } finally {
      // Synchronously with the last delivery: an event arriving next is judged live again, never left pending.
      this.catchingUp = false;
    }
  }

  private async readUntilCaughtUp(): Promise<void> {
    const task = this.filter.task!;
    while (!this.ended) {
      while (this.queue.length >= this.hub.maxQueued && !this.ended) await new Promise<void>((resolve) => (this.space = resolve));
      if (this.ended) return;
      const readStartedAfter = this.arrivals;
      const want = Math.min(this.hub.pageSize, this.hub.maxQueued - this.queue.length);
      const page = await this.hub.log.eventsAfter(task, this.lastSeq ?? 0, want);
      for (const event of page) if (event.seq !== undefined && event.seq > (this.lastSeq ?? 0) && !this.ended) this.deliver(event);
      if (page.length === want) continue; // maybe more
      // The log had nothing more when read: what arrived live in order is next.
      for (let entry = this.pending.get((this.lastSeq ?? 0) + 1); entry; entry = this.pending.get((this.lastSeq ?? 0) + 1)) {
        if (this.queue.length >= this.hub.maxQueued) break;
        this.pending.delete(entry.event.seq!);
        this.deliver(entry.event);
      }
      for (const seq of this.pending.keys()) if (seq <= (this.lastSeq ?? 0)) this.pending.delete(seq);
      if (this.pending.size === 0) return;
      if (this.queue.length >= this.hub.maxQueued) continue;
      // Still a gap before what arrived live. If those arrived before the read began and the log lacks what comes
      // before them, no read will ever find it: deliver in order rather than wait forever.
      if ([...this.pending.values()].every((entry) => entry.arrival <= readStartedAfter)) {
        for (const seq of [...this.pending.keys()].sort((a, b) => a - b)) {
          const entry = this.pending.get(seq)!;
          this.pending.delete(seq);
          this.deliver(entry.event);
        }
        return;
      }
    }
  }
}

export class EventHub {
  private readonly live = new Set<Subscriber>();
  private readonly byTask = new Map<string, Set<Subscriber>>();
  private readonly stops: Array<() => void> = [];
  private readonly maxQueued: number;
  private readonly pageSize: number;
  private closed = false;
  /** The transports take one stream of the caller's token before subscribing (bus/stream-quota.ts). */
  readonly quota: StreamQuota;

  constructor(private readonly options: EventHubOptions) {
    this.quota = new StreamQuota(options.maxStreamsPerToken ?? 100);
    this.maxQueued = options.maxQueued;
    this.pageSize = options.pageSize ?? 200;
    this.stops.push(options.bus.subscribe((event) => this.fanOut({ event })));
    // Registry changes carry no task id, so only live subscribers can take them: with none (the usual case during a
    // bulk load), building each event (its id, its timestamp, its payload) would be work for nobody.
    if (options.feed) {
      this.stops.push(
        options.feed.subscribe((change) => {
          if (this.live.size > 0) this.fanOut(registryChangeEvent(change));
        }),
      );
    }
  }

  /** Subscribers now (for status and tests). */
  get size(): number {
    let n = this.live.size;
    for (const set of this.byTask.values()) n += set.size;
    return n;
  }

  subscribe(viewer: Viewer, filter: BusEventFilter): EventSubscription {
    const onError = this.options.onError ?? (() => undefined);
    const subscriber = new Subscriber(viewer, filter, {
      maxQueued: this.maxQueued,
      pageSize: this.pageSize,
      log: this.options.taskEvents,
      onError,
      detach: (s) => this.detach(s),
    });
    if (this.closed) {
      subscriber.drop("shutting_down");
      return subscriber;
    }
    // Attached at once (before any replay reads the log): nothing published from now on can slip past it.
    if (filter.task !== undefined) {
      let set = this.byTask.get(filter.task);
      if (!set) this.byTask.set(filter.task, (set = new Set()));
      set.add(subscriber);
    } else {
      this.live.add(subscriber);
    }
    subscriber.start();
    return subscriber;
  }

  /** Tells every subscriber the node is shutting down and ends them; the hub stops listening. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stop of this.stops) stop();
    for (const subscriber of [...this.live]) subscriber.drop("shutting_down");
    for (const set of [...this.byTask.values()]) for (const subscriber of [...set]) subscriber.drop("shutting_down");
  }

  private fanOut(item: HubEvent): void {
    for (const subscriber of this.live) if (mayReceive(subscriber.viewer, item)) subscriber.offer(item);
    const taskId = item.event.taskId;
    if (taskId === undefined) return;
    // Task subscribers get every event of their task that they may receive: they follow its seq (filters apply on delivery).
    const set = this.byTask.get(taskId);
    if (set) for (const subscriber of set) if (mayReceive(subscriber.viewer, item)) subscriber.offer(item);
  }

  private detach(subscriber: Subscriber): void {
    this.live.delete(subscriber);
    const task = subscriber.filter.task;
    if (task === undefined) return;
    const set = this.byTask.get(task);
    if (!set) return;
    set.delete(subscriber);
    if (set.size === 0) this.byTask.delete(task);
  }
}
