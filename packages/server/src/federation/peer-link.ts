/**
 * @module federation/peer-link
 * One trusted peer, kept in sync. The link opens a KLP WebSocket session to the peer (its DID pinned, both
 * keys proven by the handshake), pulls with `state_sync` from its cursor (paging a snapshot when the peer
 * says so), subscribes to pushes, and then pulls again every `pullIntervalMs` (catching anything a push
 * missed) and takes a full snapshot every `refreshIntervalMs` (the origin re-signs every record with a new
 * expiry, and records it no longer exports are dropped). A lost connection is retried with capped,
 * jittered exponential backoff. Everything the peer sends is applied one batch at a time, in order.
 */
import { klp } from "@kai/protocol";
import type { Logger } from "../logging/logger.js";
import type { KlpPeerSession } from "../klp/peer-session.js";
import { describePeerFailure } from "../klp/peer-failure.js";
import type { FederationImporter } from "./importer.js";

export type LinkState = "connecting" | "connected" | "disconnected";

export interface PeerLinkOptions {
  did: string;
  url: string;
  /** Current cursor (persisted by the importer with each batch). */
  cursor: number;
  epoch: string | null;
  connect: (url: string, did: string) => Promise<KlpPeerSession>;
  importer: FederationImporter;
  logger: Logger;
  pullIntervalMs: number;
  refreshIntervalMs: number;
  /** A refused or failed message from the peer, by KLP code. */
  onRejected: (code: klp.KlpErrorCode) => void;
  /** Told when the link's state changes (the other instances of a cluster show the leader's links). */
  onStateChange?: (state: LinkState, lastError: string | null) => void;
}

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export class PeerLink {
  private current: LinkState = "connecting";
  lastContact: number | null = null;
  lastError: string | null = null;
  cursor: number;
  headRevision = 0;
  private epoch: string | null;
  private session: KlpPeerSession | null = null;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private pullTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  /** Every batch (pull answer or push) is applied after the previous one. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Pushed statements not yet handed to the importer (see onPush). */
  private pushed: unknown[] = [];
  /** The last failure written to the log (see onLost); null once connected. */
  private loggedError: string | null = null;
  /** Pulls run one after another: a snapshot and a pull interleaved would move the cursor out of order. */
  private syncQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: PeerLinkOptions) {
    this.cursor = options.cursor;
    this.epoch = options.epoch;
  }

  get state(): LinkState {
    return this.current;
  }

  private set state(next: LinkState) {
    if (next === this.current) return;
    this.current = next;
    this.options.onStateChange?.(next, this.lastError);
  }

  get did(): string {
    return this.options.did;
  }

  get lagRevisions(): number {
    return Math.max(0, this.headRevision - this.cursor);
  }

  start(): void {
    void this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    const session = this.session;
    this.session = null;
    this.state = "disconnected";
    if (session) await session.close("peer removed").catch(() => undefined);
    await this.chain.catch(() => undefined);
  }

  /** Pulls now (also what the timers call), after any pull in progress; resolves when caught up or failed. */
  syncNow(full = false, subscribe = false): Promise<void> {
    const run = this.syncQueue.then(() => this.sync(full, subscribe));
    this.syncQueue = run.catch(() => undefined);
    return run;
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    this.state = "connecting";
    try {
      const session = await this.options.connect(this.options.url, this.options.did);
      if (this.stopped) {
        await session.close("peer removed");
        return;
      }
      this.session = session;
      session.onUnsolicited((envelope) => this.onPush(envelope));
      // Forged, replayed, stale or foreign messages never reach the importer; they are counted here.
      session.onRefused((code) => this.options.onRejected(code));
      session.onClose((reason) => this.onLost(`connection closed: ${reason}`));
      this.state = "connected";
      this.lastContact = Date.now();
      if (this.loggedError !== null) this.options.logger.info({ peer: this.options.did, url: loggedUrl(this.options.url) }, "the link to a federation peer is connected again");
      this.loggedError = null;
      await this.syncNow(false, true);
      this.attempt = 0;
      this.schedule();
    } catch (error) {
      this.onLost(describe(error, this.options.url));
    }
  }

  private onLost(reason: string): void {
    if (this.stopped) return;
    this.lastError = reason;
    // Said once per reason, not at every retry: a peer that refuses this node is the operator's to fix (a certificate,
    // a CA, a URL), and `kai peer show` alone is seen only by whoever looks.
    if (reason !== this.loggedError) {
      this.loggedError = reason;
      this.options.logger.warn({ peer: this.options.did, url: loggedUrl(this.options.url), reason }, "the link to a federation peer failed; it is retried");
    }
    this.state = "disconnected";
    this.clearTimers();
    const session = this.session;
    this.session = null;
    if (session && !session.closed) void session.close("resync").catch(() => undefined);
    if (this.retryTimer) return;
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.open();
    }, delay);
    this.retryTimer.unref();
  }

  private schedule(): void {
    this.clearTimers();
    this.pullTimer = setInterval(() => void this.syncNow().catch(() => undefined), this.options.pullIntervalMs);
    this.pullTimer.unref();
    this.refreshTimer = setInterval(() => void this.syncNow(true).catch(() => undefined), this.options.refreshIntervalMs);
    this.refreshTimer.unref();
  }

  private clearTimers(): void {
    if (this.pullTimer) clearInterval(this.pullTimer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.pullTimer = this.refreshTimer = this.retryTimer = null;
  }

  /** Pulls until caught up. `full` asks for a snapshot; `subscribe` asks for pushes (first pull of a session). */
  private async sync(full: boolean, subscribe = false): Promise<void> {
    const session = this.session;
    if (!session) return;
    let since = full ? 0 : this.cursor;
    let snapshot: { seen: Set<string>; revision: number } | null = null;
    let snapshotCursor: string | undefined;
    let first = true;
    try {
      for (;;) {
        const reply = await session.request({
          type: "state_sync",
          to: this.options.did,
          payload: {
            sinceRevision: since,
            ...(this.epoch !== null ? { epoch: this.epoch } : {}),
            ...(snapshotCursor !== undefined ? { snapshotCursor } : {}),
            ...(subscribe && first ? { subscribe: true } : {}),
          },
        });
        first = false;
        this.lastContact = Date.now();
        const answer = klp.StateSyncAnswerSchema.safeParse(reply.payload);
        if (!answer.success) {
          this.options.onRejected("KLP_MALFORMED");
          throw new klp.KlpError("KLP_MALFORMED", "the peer's state_sync answer is not valid");
        }
        const a = answer.data;
        if (a.headRevision !== undefined) this.headRevision = a.headRevision;
        if (a.mode === "changes") {
          await this.enqueue(() => this.options.importer.apply(this.options.did, a.statements, { cursor: { revision: a.revision, epoch: a.epoch } }));
          this.cursor = a.revision;
          this.epoch = a.epoch;
          if (!a.more) return;
          since = a.revision;
          continue;
        }
        // A snapshot: its first page's revision is what we hold once every page is in.
        snapshot ??= { seen: new Set(), revision: a.revision };
        for (const raw of a.statements) {
          const id = (raw as { serviceId?: unknown } | null)?.serviceId;
          if (typeof id === "string") snapshot.seen.add(id);
        }
        const last = !a.more || !a.nextSnapshotCursor;
        const done = snapshot;
        await this.enqueue(() =>
          this.options.importer.apply(
            this.options.did,
            a.statements,
            last ? { cursor: { revision: done.revision, epoch: a.epoch }, sweepSnapshot: { seen: done.seen, revision: done.revision } } : {},
          ),
        );
        if (last) {
          this.cursor = done.revision;
          this.epoch = a.epoch;
          // Changes made while the snapshot was paged come with the next (changes) pull.
          since = done.revision;
          snapshot = null;
          snapshotCursor = undefined;
          full = false;
          if (this.headRevision <= this.cursor) return;
          continue;
        }
        snapshotCursor = a.nextSnapshotCursor ?? undefined;
      }
    } catch (error) {
      // The peer refusing us (or a lost connection) is an error to show, not a message we refused: that is counted by onRefused.
      this.lastError = describe(error, this.options.url);
      throw error;
    }
  }

  private onPush(envelope: klp.KlpEnvelope): void {
    this.lastContact = Date.now();
    if (envelope.type !== "capability_announce") {
      this.options.onRejected("KLP_NOT_FOUND");
      return;
    }
    const payload = klp.FederationPushPayloadSchema.safeParse(envelope.payload);
    if (!payload.success) {
      this.options.onRejected("KLP_MALFORMED");
      return;
    }
    // Pushes that arrive while a batch is being written wait and go together in the next one: one
    // transaction (one fsync) per batch instead of per statement, so a burst is not fsync-bound.
    const first = this.pushed.length === 0;
    this.pushed.push(...payload.data.statements);
    if (!first) return;
    void this.enqueue(() => {
      const batch = this.pushed;
      this.pushed = [];
      return this.options.importer.apply(this.options.did, batch);
    }).catch((error: unknown) => this.options.logger.warn({ err: error, peer: this.options.did }, "applying pushed federation statements failed"));
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }
}

/** A failure as `lastError` shows it: KLP's own with its code, a connection's as klp/peer-failure.ts words it. */
function describe(error: unknown, url: string): string {
  if (error instanceof klp.KlpError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return describePeerFailure(error, url);
  return "unknown error";
}

/**
 * The peer's URL as the log shows it: its origin (scheme, host, port) only. A peer's URL may carry a user name and
 * password or a query (AGENTS.md: never log query strings or secrets); the origin is enough to tell the peer.
 */
function loggedUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(not a URL)";
  }
}
