/**
 * @module http/ws/registry-stream
 * The registry change stream behind `/ws/registry`. Each connection subscribes with a filter and
 * optionally the revision it last saw. It gets either the changes it missed (from the change feed's
 * window) or a snapshot, then live changes in revision order. Guarantees:
 * - no gap: a snapshot is built while live changes are buffered, and merged by record revision;
 * - no silent loss: a subscriber that cannot keep up stops receiving events and gets a fresh snapshot
 *   (`reason: "lagging"`) once its socket drains, instead of a partial history;
 * - no leak: every change is checked against what the subscriber may see, before and after it.
 */
import type { WebSocket } from "ws";
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
import type { ChangeFeed, Change } from "../../registry/change-feed.js";
import type { NodeStore } from "../../storage/contracts/node-store.js";
import { canSee, type Viewer } from "../../storage/contracts/viewer.js";
import type { Principal } from "../../auth/principal.js";
import { viewerOf } from "../../auth/principal.js";
import type { Logger } from "../../logging/logger.js";
import type { ImportedDirectory, RemoteChange } from "../../federation/imported-directory.js";

export interface RegistryStreamOptions {
  maxBufferedBytes: number;
  maxSubscribersPerToken: number;
  progressIntervalMs: number;
  /** This registry's epoch (see `registry/registry-epoch.ts`), sent with every snapshot and resume. */
  epoch: string;
}

type SubscriberState = "idle" | "syncing" | "live" | "lagging";

interface Subscriber {
  socket: WebSocket;
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

/** Does the subscription include records imported from peers? (`origin` names a peer: this hub shows only imported origins.) */
function wantsRemote(filter: ServiceFilter): boolean {
  return filter.location === "remote" || filter.location === "all" || filter.origin !== undefined;
}

/** Does it include this node's own records? */
function wantsLocal(filter: ServiceFilter): boolean {
  return filter.location !== "remote" && filter.origin === undefined;
}

/** The filter without the location members, which only choose the source. */
function sourceFilter(filter: ServiceFilter): ServiceFilter {
  const { location: _location, origin: _origin, ...rest } = filter;
  return rest;
}
const OPEN = 1;

/** What a change means to one subscriber: the normal event, the "hidden" notice, or nothing. */
function classify(viewer: Viewer, filter: ServiceFilter, change: Change): "normal" | "hidden" | null {
  const { event, previous } = change;
  const service = event.service;
  if (event.event === "deregistered") return canSee(viewer, service) && matchesFilter(service, filter) ? "normal" : null;
  const visibleNow = canSee(viewer, service);
  if (visibleNow && matchesFilter(service, filter)) return "normal";
  const inViewBefore = previous !== null && canSee(viewer, previous) && matchesFilter(previous, filter);
  if (!inViewBefore) return null;
  // It left the subscriber's view: by filter (it may still see the record, which no longer matches), or by visibility.
  return visibleNow ? "normal" : "hidden";
}

/**
 * Serialises each change at most once per variant, to a Buffer, however many subscribers receive it:
 * with a thousand watchers, encoding per socket would cost more than the sends themselves.
 */
class EncodedChange {
  private normal?: Buffer;
  private hidden?: Buffer;
  constructor(private readonly change: Change) {}
  get(kind: "normal" | "hidden"): Buffer {
    const { event } = this.change;
    if (kind === "normal") {
      this.normal ??= Buffer.from(JSON.stringify({ type: "event", event: event.event, revision: event.revision, serviceId: event.service.id, service: event.service }));
      return this.normal;
    }
    this.hidden ??= Buffer.from(JSON.stringify({ type: "event", event: event.event, revision: event.revision, serviceId: event.service.id, reason: "hidden" }));
    return this.hidden;
  }
}

export class RegistryStreamHub {
  private readonly subscribers = new Set<Subscriber>();
  private readonly perToken = new Map<string, number>();
  private readonly unsubscribeFeed: () => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private remote: ImportedDirectory | undefined;
  private unsubscribeRemote: (() => void) | undefined;

  constructor(
    private readonly feed: ChangeFeed,
    private readonly store: NodeStore,
    private readonly logger: Logger,
    private readonly options: RegistryStreamOptions,
  ) {
    this.unsubscribeFeed = feed.subscribe((change) => this.fanOut(change));
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

  /** Streams changes to records imported from federation peers too, to subscribers that ask for them. */
  attachRemote(directory: ImportedDirectory): void {
    this.remote = directory;
    this.unsubscribeRemote = directory.subscribe((change) => this.fanOutRemote(change));
  }

  /** Takes over an authenticated WebSocket. */
  attach(socket: WebSocket, principal: Principal): void {
    const count = this.perToken.get(principal.tokenId) ?? 0;
    if (count >= this.options.maxSubscribersPerToken) {
      socket.send(JSON.stringify({ type: "error", error: { code: "rate_limited", message: "too many watch streams for this token" } }));
      socket.close(1008, "too many streams");
      return;
    }
    this.perToken.set(principal.tokenId, count + 1);
    const subscriber: Subscriber = {
      socket, principal, viewer: viewerOf(principal), filter: {}, state: "idle", buffer: [], lastSentAt: Date.now(), alive: true, generation: 0,
    };
    this.subscribers.add(subscriber);
    socket.on("message", (data, isBinary) => this.onMessage(subscriber, isBinary ? null : data.toString()));
    socket.on("pong", () => {
      subscriber.alive = true;
    });
    socket.on("close", () => this.detach(subscriber));
    socket.on("error", () => this.detach(subscriber));
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
    else if (from !== undefined) this.resume(subscriber, from);
    else void this.snapshot(subscriber, "subscribe");
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
      if (kind) this.write(subscriber, new EncodedChange(change).get(kind), true);
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
        const page = await this.store.listServices({ filter, viewer: subscriber.viewer, limit: SNAPSHOT_PAGE, ...(cursor ? { cursor } : {}) });
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
      if (keep) view.set(event.service.id, event.service);
      else view.delete(event.service.id);
    }
    subscriber.buffer = [];
    subscriber.state = "live";
    const services = [...view.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // Imported records are read now, synchronously with going live: every later remote change is sent as an event.
    if (this.remote && wantsRemote(subscriber.filter)) {
      let remoteCursor: string | undefined;
      do {
        const page = this.remote.query(subscriber.filter, SNAPSHOT_PAGE, remoteCursor);
        services.push(...page.services);
        remoteCursor = page.nextCursor ?? undefined;
      } while (remoteCursor);
    }
    const message: ServerStreamMessage = { type: "snapshot", revision, epoch: this.options.epoch, reason, services };
    this.write(subscriber, JSON.stringify(message), true);
  }

  private fanOut(change: Change): void {
    const encoded = new EncodedChange(change);
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
        JSON.stringify({ type: "event", event: change.event, revision: this.feed.revision, serviceId: change.serviceId, service: change.record, origin: change.origin }),
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
    // Always a text frame, also when the payload was pre-encoded as a Buffer.
    socket.send(text, { binary: false });
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
