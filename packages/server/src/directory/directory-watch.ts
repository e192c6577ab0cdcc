/**
 * @module directory/directory-watch
 * The directory's change stream (served on `/ws/registry`; http/ws/registry-stream.ts only attaches the
 * sockets). Each subscriber subscribes with a filter and optionally the revision it last saw. It gets either
 * the changes it missed (from the change feed's window) or a snapshot, then live changes in revision order,
 * of this node's records and, when the filter asks, of those imported from peers. Guarantees:
 * - no gap: a snapshot is built while live changes are buffered, and merged by record revision;
 * - no silent loss: a subscriber that cannot keep up stops receiving events and gets a fresh snapshot
 *   (`reason: "lagging"`) once its socket drains, instead of a partial history;
 * - no leak: every change is checked against what the subscriber may see, before and after it.
 * Local records are read through the registry (the same reads as a listing: live heartbeat, health verdict).
 */
import {
  ClientStreamMessageSchema,
  matchesFilter,
  parseJson,
  fieldErrorsFromZod,
  type ServerStreamMessage,
  type SnapshotMessage,
  type ServiceFilter,
  type ServiceRecord,
} from "@kai/protocol";
import type { ChangeFeed, Change } from "../registry/change-feed.js";
import { withHealth, type HealthView } from "../registry/health-verdicts.js";
import type { RegistryService } from "../registry/registry-service.js";
import { canSee, type Viewer } from "../storage/contracts/viewer.js";
import { viewerOf, type Principal } from "../auth/principal.js";
import type { Logger } from "../logging/logger.js";
import type { ImportedDirectory, RemoteChange } from "../federation/imported-directory.js";
import { asImported } from "./service-listing.js";
import { classify, EncodedChange, sourceFilter, wantsLocal, wantsRemote } from "./watch-view.js";

/**
 * What the watch needs of a connection (http/ws/registry-stream.ts adapts a `ws` WebSocket). Every frame sent is text; the
 * transport tells the watch about incoming messages, pongs and the end through `WatchConnection`.
 */
export interface WatchSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  /** Sends one text frame (also when given the UTF-8 bytes as a Buffer). */
  sendText(data: string | Buffer): void;
  ping(): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

/** What the transport calls on a subscriber's connection. */
export interface WatchConnection {
  /** One incoming message: its text, or null for a binary frame. */
  message(text: string | null): void;
  pong(): void;
  /** The connection closed or failed. */
  closed(): void;
}

export interface DirectoryWatchOptions {
  feed: ChangeFeed;
  registry: RegistryService;
  logger: Logger;
  /** The records imported from peers (federation's directory); without it remote filters see none. */
  imported?: ImportedDirectory;
  /** The health checker's verdicts, shown with every local record an event carries. */
  health?: HealthView;
  maxBufferedBytes: number;
  maxSubscribersPerToken: number;
  progressIntervalMs: number;
  /** This registry's epoch (see `registry/registry-epoch.ts`), sent with every snapshot and resume. */
  epoch: string;
  /**
   * In a cluster: waits (briefly) until this instance's feed has reached `revision`, so that a watcher resuming from
   * a revision it got on a sibling instance that is a few milliseconds ahead is resumed, not sent a snapshot.
   */
  catchUp?: (revision: number) => Promise<void>;
}

type SubscriberState = "idle" | "syncing" | "live" | "lagging";

interface Subscriber {
  socket: WatchSocket;
  principal: Principal;
  viewer: Viewer;
  filter: ServiceFilter;
  state: SubscriberState;
  /** Changes published while a snapshot is being built. */
  buffer: Change[];
  lastSentAt: number;
  alive: boolean;
  /** Bumped on every (re)subscription so that a stale snapshot build can tell it was superseded. */
  generation: number;
}

const SNAPSHOT_PAGE = 1000;
const OPEN = 1;

export class DirectoryWatch {
  private readonly subscribers = new Set<Subscriber>();
  private readonly perToken = new Map<string, number>();
  private readonly unsubscribeFeed: () => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribeRemote: (() => void) | undefined;
  private readonly feed: ChangeFeed;
  private readonly logger: Logger;

  constructor(private readonly options: DirectoryWatchOptions) {
    this.feed = options.feed;
    this.logger = options.logger;
    this.unsubscribeFeed = options.feed.subscribe((change) => this.fanOut(change));
    this.unsubscribeRemote = options.imported?.subscribe((change) => this.fanOutRemote(change));
    const progress = setInterval(() => this.sendProgress(), Math.max(100, Math.floor(options.progressIntervalMs / 2)));
    const drain = setInterval(() => this.checkLagging(), 50);
    const liveness = setInterval(() => this.pingSockets(), 30_000);
    for (const timer of [progress, drain, liveness]) {
      timer.unref();
      this.timers.push(timer);
    }
  }

  get size(): number {
    return this.subscribers.size;
  }

  /** Takes over an authenticated connection; null when it was refused (and closed). */
  attach(socket: WatchSocket, principal: Principal): WatchConnection | null {
    const count = this.perToken.get(principal.tokenId) ?? 0;
    if (count >= this.options.maxSubscribersPerToken) {
      socket.sendText(JSON.stringify({ type: "error", error: { code: "rate_limited", message: "too many watch streams for this token" } }));
      socket.close(1008, "too many streams");
      return null;
    }
    this.perToken.set(principal.tokenId, count + 1);
    const subscriber: Subscriber = {
      socket, principal, viewer: viewerOf(principal), filter: {}, state: "idle", buffer: [], lastSentAt: Date.now(), alive: true, generation: 0,
    };
    this.subscribers.add(subscriber);
    return {
      message: (text) => this.onMessage(subscriber, text),
      pong: () => {
        subscriber.alive = true;
      },
      closed: () => this.detach(subscriber),
    };
  }

  /** Closes every stream (server shutdown: 1001 "going away" tells clients to reconnect elsewhere or later). */
  close(): void {
    this.unsubscribeFeed();
    this.unsubscribeRemote?.();
    for (const timer of this.timers) clearInterval(timer);
    for (const subscriber of this.subscribers) subscriber.socket.close(1001, "server shutting down");
    this.subscribers.clear();
  }

  private detach(subscriber: Subscriber): void {
    if (!this.subscribers.delete(subscriber)) return;
    const left = (this.perToken.get(subscriber.principal.tokenId) ?? 1) - 1;
    if (left <= 0) this.perToken.delete(subscriber.principal.tokenId);
    else this.perToken.set(subscriber.principal.tokenId, left);
  }

  private onMessage(subscriber: Subscriber, text: string | null): void {
    const parsed = text === null ? null : parseJson(text);
    if (!parsed || !parsed.ok) return this.sendError(subscriber, "invalid_json", "messages must be JSON text");
    const message = ClientStreamMessageSchema.safeParse(parsed.value);
    if (!message.success) return this.sendError(subscriber, "validation_failed", "invalid message", fieldErrorsFromZod(message.error));
    if (message.data.type === "ping") return this.write(subscriber, JSON.stringify({ type: "pong", revision: this.feed.revision }), true);
    if (subscriber.principal.expiresAt <= Date.now()) {
      this.sendError(subscriber, "unauthorized", "token expired");
      subscriber.socket.close(1008, "token expired");
      return;
    }
    subscriber.filter = message.data.filter ?? {};
    subscriber.generation++;
    const from = message.data.fromRevision;
    if (from !== undefined && message.data.epoch !== undefined && message.data.epoch !== this.options.epoch) void this.snapshot(subscriber, "epoch_changed");
    // Remote changes do not get local revisions, so they cannot be replayed: a fresh snapshot is exact instead.
    else if (from !== undefined && wantsRemote(subscriber.filter)) void this.snapshot(subscriber, "includes_remote");
    else if (from !== undefined && from > this.feed.revision && this.options.catchUp) void this.resumeAfterCatchUp(subscriber, from);
    else if (from !== undefined) this.resume(subscriber, from);
    else void this.snapshot(subscriber, "subscribe");
  }

  /** A resume from a revision this instance has not published yet: wait for it (bounded), then resume as usual. */
  private async resumeAfterCatchUp(subscriber: Subscriber, fromRevision: number): Promise<void> {
    const generation = subscriber.generation;
    subscriber.state = "idle";
    await this.options.catchUp?.(fromRevision).catch(() => undefined);
    if (generation !== subscriber.generation || !this.subscribers.has(subscriber)) return;
    this.resume(subscriber, fromRevision);
  }

  /** Replays what the subscriber missed, synchronously so that nothing can slip in between, then goes live. */
  private resume(subscriber: Subscriber, fromRevision: number): void {
    const changes = this.feed.changesSince(fromRevision);
    if (changes === null) {
      void this.snapshot(subscriber, "too_far_behind");
      return;
    }
    subscriber.state = "live";
    for (const change of changes) {
      const kind = classify(subscriber.viewer, subscriber.filter, change);
      if (kind) this.write(subscriber, new EncodedChange(change, this.options.health).get(kind), true);
    }
    this.write(subscriber, JSON.stringify({ type: "resumed", fromRevision, revision: this.feed.revision, epoch: this.options.epoch }), true);
  }

  private async snapshot(subscriber: Subscriber, reason: SnapshotMessage["reason"]): Promise<void> {
    const generation = subscriber.generation;
    subscriber.state = "syncing";
    subscriber.buffer = [];
    const startRevision = this.feed.revision;
    const view = new Map<string, ServiceRecord>();
    try {
      let cursor: string | undefined;
      const filter = sourceFilter(subscriber.filter);
      while (wantsLocal(subscriber.filter)) {
        const page = await this.options.registry.list(subscriber.principal, { ...filter, limit: SNAPSHOT_PAGE, ...(cursor ? { cursor } : {}) });
        for (const record of page.services) view.set(record.id, record);
        cursor = page.nextCursor ?? undefined;
        if (!cursor) break;
      }
    } catch (error) {
      this.logger.error({ err: error }, "building a watch snapshot failed");
      this.sendError(subscriber, "unavailable", "could not build a snapshot; reconnect");
      subscriber.socket.close(1011, "snapshot failed");
      return;
    }
    if (generation !== subscriber.generation || !this.subscribers.has(subscriber)) return;
    // Merge what changed while we were reading, by record revision, so that the snapshot is exact at `revision`.
    let revision = startRevision;
    for (const change of subscriber.buffer) {
      const { event } = change;
      revision = Math.max(revision, event.revision);
      const current = view.get(event.service.id);
      if (current && current.revision >= event.revision) continue;
      const keep = event.event !== "deregistered" && canSee(subscriber.viewer, event.service) && matchesFilter(event.service, subscriber.filter);
      if (keep) view.set(event.service.id, withHealth(event.service, this.options.health));
      else view.delete(event.service.id);
    }
    subscriber.buffer = [];
    subscriber.state = "live";
    const services = [...view.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // Imported records are read now, synchronously with going live: every later remote change is sent as an event.
    const { imported } = this.options;
    if (imported && wantsRemote(subscriber.filter)) {
      let remoteCursor: string | undefined;
      do {
        const page = imported.query(subscriber.filter, SNAPSHOT_PAGE, remoteCursor);
        for (const record of page.services) services.push(asImported(record));
        remoteCursor = page.nextCursor ?? undefined;
      } while (remoteCursor);
    }
    const message: ServerStreamMessage = { type: "snapshot", revision, epoch: this.options.epoch, reason, services };
    this.write(subscriber, JSON.stringify(message), true);
  }

  private fanOut(change: Change): void {
    const encoded = new EncodedChange(change, this.options.health);
    for (const subscriber of this.subscribers) {
      if (subscriber.state === "syncing") subscriber.buffer.push(change);
      else if (subscriber.state === "live") {
        const kind = classify(subscriber.viewer, subscriber.filter, change);
        if (kind) this.write(subscriber, encoded.get(kind), false);
      }
    }
  }

  private fanOutRemote(change: RemoteChange): void {
    let encoded: Buffer | undefined;
    for (const subscriber of this.subscribers) {
      // Syncing subscribers read the imported records when their snapshot completes, so they miss nothing.
      if (subscriber.state !== "live" || !wantsRemote(subscriber.filter)) continue;
      // Also when it no longer matches: the subscriber must learn that the record left its view.
      if (!matchesFilter(change.record, subscriber.filter) && !(change.previous && matchesFilter(change.previous, subscriber.filter))) continue;
      encoded ??= Buffer.from(
        JSON.stringify({ type: "event", event: change.event, revision: this.feed.revision, serviceId: change.serviceId, service: asImported(change.record), origin: change.origin }),
      );
      this.write(subscriber, encoded, false);
    }
  }

  /** Sends unless the subscriber is too far behind; then it is marked lagging and will get a fresh snapshot. */
  private write(subscriber: Subscriber, text: string | Buffer, force: boolean): void {
    const { socket } = subscriber;
    if (socket.readyState !== OPEN) return;
    if (!force && socket.bufferedAmount > this.options.maxBufferedBytes) {
      subscriber.state = "lagging";
      this.logger.warn({ owner: subscriber.principal.owner, buffered: socket.bufferedAmount }, "watch subscriber lagging; will resend a snapshot");
      return;
    }
    socket.sendText(text);
    subscriber.lastSentAt = Date.now();
  }

  private checkLagging(): void {
    for (const subscriber of this.subscribers) {
      if (subscriber.state === "lagging" && subscriber.socket.bufferedAmount < this.options.maxBufferedBytes / 4) {
        subscriber.generation++;
        void this.snapshot(subscriber, "lagging");
      }
    }
  }

  private sendProgress(): void {
    const now = Date.now();
    const text = JSON.stringify({ type: "progress", revision: this.feed.revision });
    for (const subscriber of this.subscribers) {
      if (subscriber.state === "live" && now - subscriber.lastSentAt >= this.options.progressIntervalMs) this.write(subscriber, text, false);
    }
  }

  private pingSockets(): void {
    for (const subscriber of this.subscribers) {
      if (!subscriber.alive) {
        subscriber.socket.terminate();
        this.detach(subscriber);
        continue;
      }
      subscriber.alive = false;
      subscriber.socket.ping();
    }
  }

  private sendError(subscriber: Subscriber, code: string, message: string, details?: unknown): void {
    this.write(subscriber, JSON.stringify({ type: "error", error: { code, message, ...(details ? { details } : {}) } }), true);
  }
}
