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
 * A connection may carry many named subscriptions (the protocol's `id`): a change goes out once per connection,
 * naming the subscriptions it concerns, so a thousand subscriptions on ten connections cost ten socket writes, not a
 * thousand (the kernel's send per socket is most of a fan-out's cost: docs/benchmarks.md). Subscriptions of one
 * connection share its socket, so they lag together (each then gets its own snapshot).
 */
import {
  ClientStreamMessageSchema,
  SubscriptionIdSchema,
  matchesFilter,
  parseJson,
  fieldErrorsFromZod,
  type ServerStreamMessage,
  type SnapshotMessage,
  type ServiceFilter,
  type ServiceRecord,
} from "@kai/protocol";
import pLimit from "p-limit";
import type { ChangeFeed, Change } from "../registry/change-feed.js";
import { withHealth, type HealthView } from "../registry/health-verdicts.js";
import type { RegistryService } from "../registry/registry-service.js";
import { canSee, type Viewer } from "../storage/contracts/viewer.js";
import { viewerOf, type Principal } from "../auth/principal.js";
import type { Logger } from "../logging/logger.js";
import type { ImportedDirectory, RemoteChange } from "../federation/imported-directory.js";
import { asImported } from "./service-listing.js";
import { compareById, SharedSnapshotReads, type SnapshotRecords } from "./shared-snapshot-reads.js";
import { classify, EncodedChange, sourceFilter, wantsLocal, wantsRemote, withSubscriptions } from "./watch-view.js";

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
  /** Open streams (connections) per token. */
  maxSubscribersPerToken: number;
  /** Named subscriptions per connection. */
  maxSubscriptionsPerStream: number;
  progressIntervalMs: number;
  /** This registry's epoch (see `registry/registry-epoch.ts`), sent with every snapshot and resume. */
  epoch: string;
  /**
   * In a cluster: waits (briefly) until this instance's feed has reached `revision`, so that a watcher resuming from
   * a revision it got on a sibling instance that is a few milliseconds ahead is resumed, not sent a snapshot.
   */
  catchUp?: (revision: number) => Promise<void>;
}

type SubscriptionState = "idle" | "syncing" | "live" | "lagging";

/** One open `/ws/registry` connection: who it is, and its subscriptions. */
interface Connection {
  socket: WatchSocket;
  principal: Principal;
  viewer: Viewer;
  lastSentAt: number;
  alive: boolean;
  /** By id; the unnamed subscription (the original one-per-connection protocol) under `UNNAMED`. */
  subscriptions: Map<string, Subscription>;
}

interface Subscription {
  connection: Connection;
  /** The client's name for it; undefined for the unnamed subscription (its messages carry no `subscription`). */
  id: string | undefined;
  filter: ServiceFilter;
  state: SubscriptionState;
  /** Changes published while a snapshot is being built. */
  buffer: Change[];
  /** Bumped on every (re)subscription so that a stale snapshot build can tell it was superseded. */
  generation: number;
}

/** The map key of the unnamed subscription (named ones are at least one character long). */
const UNNAMED = "";
const SNAPSHOT_PAGE = 1000;
/**
 * Snapshots read at once; the others wait their turn (their live changes buffered meanwhile, as for any snapshot).
 * A thousand subscriptions arriving together each read their snapshot: on PostgreSQL every read needs one of the
 * pool's connections (10 by default), and ~450 of them gave up waiting for one (`storage_unavailable`, "could not
 * build a snapshot") while writes queued behind them.
 */
const SNAPSHOTS_AT_ONCE = 4;
const OPEN = 1;
const EMPTY_LIST = Buffer.from("[]");
const CLOSING_BRACE = Buffer.from("}");

export class DirectoryWatch {
  private readonly connections = new Set<Connection>();
  private readonly perToken = new Map<string, number>();
  private readonly unsubscribeFeed: () => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribeRemote: (() => void) | undefined;
  private readonly feed: ChangeFeed;
  private readonly logger: Logger;
  private readonly snapshotSlots = pLimit(SNAPSHOTS_AT_ONCE);
  private readonly sharedReads = new SharedSnapshotReads();

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

  /** Open streams (connections). */
  get size(): number {
    return this.connections.size;
  }

  /** Subscriptions over all streams. */
  get subscriptionCount(): number {
    let count = 0;
    for (const connection of this.connections) count += connection.subscriptions.size;
    return count;
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
    const connection: Connection = { socket, principal, viewer: viewerOf(principal), lastSentAt: Date.now(), alive: true, subscriptions: new Map() };
    this.connections.add(connection);
    return {
      message: (text) => this.onMessage(connection, text),
      pong: () => {
        connection.alive = true;
      },
      closed: () => this.detach(connection),
    };
  }

  /** Closes every stream (server shutdown: 1001 "going away" tells clients to reconnect elsewhere or later). */
  close(): void {
    this.unsubscribeFeed();
    this.unsubscribeRemote?.();
    for (const timer of this.timers) clearInterval(timer);
    for (const connection of this.connections) connection.socket.close(1001, "server shutting down");
    this.connections.clear();
  }

  private detach(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    // A snapshot still being built for one of them sees it gone and drops its result.
    connection.subscriptions.clear();
    const left = (this.perToken.get(connection.principal.tokenId) ?? 1) - 1;
    if (left <= 0) this.perToken.delete(connection.principal.tokenId);
    else this.perToken.set(connection.principal.tokenId, left);
  }

  private onMessage(connection: Connection, text: string | null): void {
    const parsed = text === null ? null : parseJson(text);
    if (!parsed || !parsed.ok) return this.sendError(connection, undefined, "invalid_json", "messages must be JSON text");
    const message = ClientStreamMessageSchema.safeParse(parsed.value);
    if (!message.success) {
      return this.sendError(connection, claimedId(parsed.value), "validation_failed", "invalid message", fieldErrorsFromZod(message.error));
    }
    const data = message.data;
    if (data.type === "ping") return this.write(connection, JSON.stringify({ type: "pong", revision: this.feed.revision }));
    if (data.type === "unsubscribe") {
      const subscription = connection.subscriptions.get(data.id);
      if (subscription) {
        connection.subscriptions.delete(data.id);
        subscription.generation++;
      }
      return;
    }
    if (connection.principal.expiresAt <= Date.now()) {
      this.sendError(connection, data.id, "unauthorized", "token expired");
      connection.socket.close(1008, "token expired");
      return;
    }
    const key = data.id ?? UNNAMED;
    let subscription = connection.subscriptions.get(key);
    if (!subscription) {
      if (connection.subscriptions.size >= this.options.maxSubscriptionsPerStream) {
        return this.sendError(connection, data.id, "rate_limited", `at most ${this.options.maxSubscriptionsPerStream} subscriptions per stream`);
      }
      subscription = { connection, id: data.id, filter: {}, state: "idle", buffer: [], generation: 0 };
      connection.subscriptions.set(key, subscription);
    }
    subscription.filter = data.filter ?? {};
    subscription.generation++;
    const from = data.fromRevision;
    if (from !== undefined && data.epoch !== undefined && data.epoch !== this.options.epoch) void this.snapshot(subscription, "epoch_changed");
    // Remote changes do not get local revisions, so they cannot be replayed: a fresh snapshot is exact instead.
    else if (from !== undefined && wantsRemote(subscription.filter)) void this.snapshot(subscription, "includes_remote");
    else if (from !== undefined && from > this.feed.revision && this.options.catchUp) void this.resumeAfterCatchUp(subscription, from);
    else if (from !== undefined) this.resume(subscription, from);
    else void this.snapshot(subscription, "subscribe");
  }

  /** Still the subscription its connection holds under its id, on a connection still open? */
  private isCurrent(subscription: Subscription, generation: number): boolean {
    const { connection } = subscription;
    return generation === subscription.generation && this.connections.has(connection) && connection.subscriptions.get(subscription.id ?? UNNAMED) === subscription;
  }

  /** A resume from a revision this instance has not published yet: wait for it (bounded), then resume as usual. */
  private async resumeAfterCatchUp(subscription: Subscription, fromRevision: number): Promise<void> {
    const generation = subscription.generation;
    subscription.state = "idle";
    await this.options.catchUp?.(fromRevision).catch(() => undefined);
    if (!this.isCurrent(subscription, generation)) return;
    this.resume(subscription, fromRevision);
  }

  /** Replays what the subscription missed, synchronously so that nothing can slip in between, then goes live. */
  private resume(subscription: Subscription, fromRevision: number): void {
    const changes = this.feed.changesSince(fromRevision);
    if (changes === null) {
      void this.snapshot(subscription, "too_far_behind");
      return;
    }
    subscription.state = "live";
    const { connection } = subscription;
    for (const change of changes) {
      const kind = classify(connection.viewer, subscription.filter, change);
      if (!kind) continue;
      const encoded = new EncodedChange(change, this.options.health);
      this.write(connection, subscription.id === undefined ? encoded.get(kind) : encoded.forSubscriptions(kind, [subscription.id]));
    }
    this.write(connection, JSON.stringify({ type: "resumed", ...named(subscription), fromRevision, revision: this.feed.revision, epoch: this.options.epoch }));
  }

  private async snapshot(subscription: Subscription, reason: SnapshotMessage["reason"]): Promise<void> {
    const generation = subscription.generation;
    const { connection } = subscription;
    subscription.state = "syncing";
    subscription.buffer = [];
    const startRevision = this.feed.revision;
    let local: SnapshotRecords | undefined;
    try {
      if (wantsLocal(subscription.filter)) {
        // A subscription replaced or gone before its read starts reads nothing.
        if (!this.isCurrent(subscription, generation)) return;
        const filter = sourceFilter(subscription.filter);
        // Subscriptions asking the same at the same revision share one read (directory/shared-snapshot-reads.ts).
        local = await this.sharedReads.records(connection.viewer, filter, startRevision, () => this.snapshotSlots(() => this.readLocal(connection.principal, filter)));
      }
    } catch (error) {
      this.logger.error({ err: error }, "building a watch snapshot failed");
      this.sendError(connection, subscription.id, "unavailable", "could not build a snapshot; reconnect");
      connection.socket.close(1011, "snapshot failed");
      return;
    }
    if (!this.isCurrent(subscription, generation)) return;
    const buffered = subscription.buffer;
    subscription.buffer = [];
    subscription.state = "live";
    const { imported } = this.options;
    const head = (revision: number): Omit<SnapshotMessage, "services"> => ({ type: "snapshot", ...named(subscription), revision, epoch: this.options.epoch, reason });
    if (buffered.length === 0 && !(imported && wantsRemote(subscription.filter))) {
      // Nothing of its own to merge: the shared records as they were encoded once, behind this subscription's head.
      const start = JSON.stringify(head(startRevision));
      const services = local ? local.encoded() : EMPTY_LIST;
      this.write(connection, Buffer.concat([Buffer.from(`${start.slice(0, -1)},"services":`), services, CLOSING_BRACE]));
      return;
    }
    // Merge what changed while we were reading, by record revision, so that the snapshot is exact at `revision`.
    const view = new Map<string, ServiceRecord>();
    for (const record of local?.services ?? []) view.set(record.id, record);
    let revision = startRevision;
    for (const change of buffered) {
      const { event } = change;
      revision = Math.max(revision, event.revision);
      const current = view.get(event.service.id);
      if (current && current.revision >= event.revision) continue;
      const keep = event.event !== "deregistered" && canSee(connection.viewer, event.service) && matchesFilter(event.service, subscription.filter);
      if (keep) view.set(event.service.id, withHealth(event.service, this.options.health));
      else view.delete(event.service.id);
    }
    const services = [...view.values()].sort(compareById);
    // Imported records are read now, synchronously with going live: every later remote change is sent as an event.
    if (imported && wantsRemote(subscription.filter)) {
      let remoteCursor: string | undefined;
      do {
        const page = imported.query(subscription.filter, SNAPSHOT_PAGE, remoteCursor);
        for (const record of page.services) services.push(asImported(record));
        remoteCursor = page.nextCursor ?? undefined;
      } while (remoteCursor);
    }
    const message: ServerStreamMessage = { ...head(revision), services };
    this.write(connection, JSON.stringify(message));
  }

  /** Every local record the principal sees that matches `filter`, read a page at a time (as listings read them). */
  private async readLocal(principal: Principal, filter: ServiceFilter): Promise<ServiceRecord[]> {
    const records = new Map<string, ServiceRecord>();
    let cursor: string | undefined;
    do {
      const page = await this.options.registry.list(principal, { ...filter, limit: SNAPSHOT_PAGE, ...(cursor ? { cursor } : {}) });
      for (const record of page.services) records.set(record.id, record);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return [...records.values()];
  }

  private fanOut(change: Change): void {
    this.sharedReads.changed();
    const encoded = new EncodedChange(change, this.options.health);
    for (const connection of this.connections) {
      const { subscriptions } = connection;
      // The common case, one unnamed subscription per connection, without the grouping below.
      if (subscriptions.size === 1) {
        const only = subscriptions.get(UNNAMED);
        if (only) {
          if (only.state === "syncing") only.buffer.push(change);
          else if (only.state === "live") {
            const kind = classify(connection.viewer, only.filter, change);
            if (kind) this.deliver(connection, encoded.get(kind), only);
          }
          continue;
        }
      }
      // The named subscriptions it goes to, by what they see of it (one frame per variant).
      const named: Record<"normal" | "hidden", Subscription[] | null> = { normal: null, hidden: null };
      for (const subscription of subscriptions.values()) {
        if (subscription.state === "syncing") subscription.buffer.push(change);
        else if (subscription.state === "live") {
          const kind = classify(connection.viewer, subscription.filter, change);
          if (!kind) continue;
          if (subscription.id === undefined) this.deliver(connection, encoded.get(kind), subscription);
          else (named[kind] ??= []).push(subscription);
        }
      }
      for (const kind of ["normal", "hidden"] as const) {
        const group = named[kind];
        if (group) this.deliver(connection, encoded.forSubscriptions(kind, group.map((each) => each.id!)), ...group);
      }
    }
  }

  private fanOutRemote(change: RemoteChange): void {
    let encoded: Buffer | undefined;
    const frame = () =>
      (encoded ??= Buffer.from(
        JSON.stringify({ type: "event", event: change.event, revision: this.feed.revision, serviceId: change.serviceId, service: asImported(change.record), origin: change.origin }),
      ));
    for (const connection of this.connections) {
      const named: Subscription[] = [];
      let unnamed: Subscription | undefined;
      for (const subscription of connection.subscriptions.values()) {
        // Syncing subscriptions read the imported records when their snapshot completes, so they miss nothing.
        if (subscription.state !== "live" || !wantsRemote(subscription.filter)) continue;
        // Also when it no longer matches: the subscriber must learn that the record left its view.
        const { filter } = subscription;
        if (!matchesFilter(change.record, filter) && !(change.previous && matchesFilter(change.previous, filter))) continue;
        if (subscription.id === undefined) unnamed = subscription;
        else named.push(subscription);
      }
      if (unnamed) this.deliver(connection, frame(), unnamed);
      if (named.length > 0) this.deliver(connection, withSubscriptions(frame(), named.map((each) => each.id!)), ...named);
    }
  }

  /** Sends a change unless the connection is too far behind; then these subscriptions lag and will get fresh snapshots. */
  private deliver(connection: Connection, frame: Buffer, ...subscriptions: Subscription[]): void {
    const { socket } = connection;
    if (socket.readyState !== OPEN) return;
    if (socket.bufferedAmount > this.options.maxBufferedBytes) {
      for (const subscription of subscriptions) subscription.state = "lagging";
      this.logger.warn({ owner: connection.principal.owner, buffered: socket.bufferedAmount }, "watch subscriber lagging; will resend a snapshot");
      return;
    }
    socket.sendText(frame);
    connection.lastSentAt = Date.now();
  }

  /** Sends a message that must not be dropped (a snapshot, a resume, an answer): it is what ends a lag. */
  private write(connection: Connection, text: string | Buffer): void {
    if (connection.socket.readyState !== OPEN) return;
    connection.socket.sendText(text);
    connection.lastSentAt = Date.now();
  }

  private checkLagging(): void {
    for (const connection of this.connections) {
      if (connection.socket.bufferedAmount >= this.options.maxBufferedBytes / 4) continue;
      for (const subscription of connection.subscriptions.values()) {
        if (subscription.state !== "lagging") continue;
        subscription.generation++;
        void this.snapshot(subscription, "lagging");
      }
    }
  }

  /** `progress` speaks for every subscription of a connection, so it goes only where all of them are live. */
  private sendProgress(): void {
    const now = Date.now();
    let text: string | undefined;
    for (const connection of this.connections) {
      if (connection.subscriptions.size === 0 || now - connection.lastSentAt < this.options.progressIntervalMs) continue;
      if (connection.socket.readyState !== OPEN || connection.socket.bufferedAmount > this.options.maxBufferedBytes) continue;
      let allLive = true;
      for (const subscription of connection.subscriptions.values()) allLive &&= subscription.state === "live";
      if (!allLive) continue;
      text ??= JSON.stringify({ type: "progress", revision: this.feed.revision });
      this.write(connection, text);
    }
  }

  private pingSockets(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        this.detach(connection);
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  private sendError(connection: Connection, subscription: string | undefined, code: string, message: string, details?: unknown): void {
    const error = { code, message, ...(details ? { details } : {}) };
    this.write(connection, JSON.stringify({ type: "error", ...(subscription !== undefined ? { subscription } : {}), error }));
  }
}

/** The `subscription` member of a named subscription's messages (none for the unnamed one). */
function named(subscription: Subscription): { subscription?: string } {
  return subscription.id === undefined ? {} : { subscription: subscription.id };
}

/** The id a refused `subscribe` claimed, when it is a usable one: the client learns which subscription failed. */
function claimedId(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return SubscriptionIdSchema.safeParse(id).success ? (id as string) : undefined;
}
