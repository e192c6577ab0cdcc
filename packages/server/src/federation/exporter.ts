/**
 * @module federation/exporter
 * The export side of federation: what this node tells peers about its own `public` records. It answers
 * `state_sync` (the changes after a revision, or a paged snapshot when the event log no longer reaches back
 * or the asker's cursor belongs to another epoch) and pushes each change to subscribed sessions as a
 * `capability_announce`. Only the node's own records are exported: imported ones live in another table
 * and never pass through here, so nothing is re-exported as one's own.
 *
 * A record that stops being public must look deleted to peers (a tombstone), but a private record must not
 * be mentioned at all, not even by id: a tombstone goes out only when the record was public before the
 * change (known from the change feed's `previous`), or when a deleted record was public at deletion. A
 * public→private change older than the feed's window is caught by the importer's periodic full refresh (on a
 * shared database the log keeps previous states too, so there it is caught at once).
 *
 * Nothing here is state only the writing instance has: in a cluster every instance's feed carries every
 * instance's changes, and the log and records are the shared database's, so any instance answers any peer and
 * pushes every change to the sessions connected to it.
 */
import { klp, type ServiceRecord } from "@kai/protocol";
import type { Logger } from "../logging/logger.js";
import type { Change, ChangeFeed } from "../registry/change-feed.js";
import type { NodeStore } from "../storage/contracts/node-store.js";
import { isSharedStorage } from "../storage/contracts/storage-backend.js";
import { signRecordStatement, signTombstone } from "./statements.js";

/** Whom pushes go to: one subscribed session. `push` returns false when the session is gone or hopelessly behind. */
export interface PushTarget {
  peerDid: string;
  push(envelope: klp.KlpEnvelope): boolean;
}

export interface ExporterOptions {
  store: NodeStore;
  feed: ChangeFeed;
  /** The node's key pair (throws `vault_locked` while the node key is sealed). */
  identity: () => klp.KlpKeyPair;
  epoch: string;
  /** How long an exported statement is good for unless refreshed, seconds. */
  recordTtlSeconds: number;
  logger: Logger;
  now?: () => number;
}

const ADMIN_VIEW = { owner: "#federation", admin: true };

interface PendingPush {
  statement: klp.FederationStatement;
  version: string;
  capabilities: string[];
}

interface PushState {
  pending: PendingPush[];
  timer: NodeJS.Timeout | null;
  /** Pushes that may go out now (fractional while refilling). */
  tokens: number;
  refilledAt: number;
}

/** Distinct unexportable records logged at most (each once); more are still skipped, silently. */
const MAX_REPORTED_UNSIGNABLE = 1000;

function isPublic(record: ServiceRecord | null | undefined): boolean {
  return record?.visibility === "public";
}

export class FederationExporter {
  private readonly subscribers = new Set<PushTarget>();
  private readonly pushState = new Map<PushTarget, PushState>();
  private readonly now: () => number;
  private readonly unsubscribeFeed: () => void;
  private readonly reportedUnsignable = new Set<string>();

  constructor(private readonly options: ExporterOptions) {
    this.now = options.now ?? Date.now;
    this.unsubscribeFeed = options.feed.subscribe((change) => this.onChange(change));
  }

  /** Answers one `state_sync` request. */
  async answer(request: klp.StateSyncRequest): Promise<klp.StateSyncAnswer> {
    const limit = Math.min(request.limit ?? klp.STATE_SYNC_MAX_BATCH, klp.STATE_SYNC_MAX_BATCH);
    const sameEpoch = request.epoch === undefined || request.epoch === this.options.epoch;
    if (request.snapshotCursor !== undefined || request.sinceRevision === 0 || !sameEpoch) return this.snapshotPage(request, limit);
    const changes = this.changesFromFeed(request.sinceRevision, limit) ?? (await this.changesFromLog(request.sinceRevision, limit));
    if (changes === "compacted") return this.snapshotPage({ ...request, sinceRevision: request.sinceRevision }, limit);
    return {
      sinceRevision: request.sinceRevision,
      mode: "changes",
      revision: changes.revision,
      headRevision: Math.max(this.options.feed.revision, changes.revision),
      epoch: this.options.epoch,
      statements: changes.statements,
      more: changes.more,
    };
  }

  /** Registers a session for pushes; returns the function that ends the subscription. */
  subscribe(target: PushTarget): () => void {
    this.subscribers.add(target);
    return () => this.drop(target);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  close(): void {
    this.unsubscribeFeed();
    for (const target of [...this.subscribers]) this.drop(target);
  }

  /**
   * The statement a change stands for, or undefined when peers must not hear of it. A public record that
   * cannot be signed (see `signRecordStatement`) is left out, and peers that may hold an earlier version of
   * it get a tombstone: they must not keep serving a state the origin no longer vouches for.
   */
  private statementFor(record: ServiceRecord, deleted: boolean, wasPublic: boolean): klp.FederationStatement | undefined {
    if (!deleted && isPublic(record)) {
      const statement = signRecordStatement(record, this.options.identity(), this.now(), this.options.recordTtlSeconds);
      if (statement) return statement;
      this.unsignable(record.id);
    }
    if (wasPublic) return signTombstone(record.id, record.revision, this.options.identity(), this.now());
    return undefined;
  }

  /**
   * Logs a record that cannot be exported, by id only (its text is the problem, and is not for the log), once
   * per id: peers pull every few seconds, and the log must not fill with the same line.
   */
  private unsignable(serviceId: string): void {
    if (this.reportedUnsignable.has(serviceId) || this.reportedUnsignable.size >= MAX_REPORTED_UNSIGNABLE) return;
    this.reportedUnsignable.add(serviceId);
    this.options.logger.warn({ serviceId }, "federation: a public record holds text that cannot be signed (an unpaired surrogate); it is not exported");
  }

  private onChange(change: Change): void {
    if (this.subscribers.size === 0) return;
    const deleted = change.event.event === "deregistered";
    // A deleted record's event carries its last state: public then means peers may hold it.
    const wasPublic = isPublic(change.previous) || (deleted && isPublic(change.event.service));
    const statement = this.statementFor(change.event.service, deleted, wasPublic);
    if (!statement) return;
    const record = statement.kind === "record" ? change.event.service : undefined;
    // The tombstone of an unsignable record must not carry its (possibly unsignable) version into the push.
    const version = change.event.service.version !== undefined && klp.canonicalisable(change.event.service.version) ? change.event.service.version : "0.0.0";
    for (const target of this.subscribers) this.queue(target, { statement, version, capabilities: record?.capabilities ?? [] });
  }

  /**
   * Pushes are paced per subscriber by a token bucket (klp.PUSH_BURST at once, then klp.PUSH_RATE_PER_SECOND):
   * each push is one signed message the receiver must remember for the staleness window, so the pace is what
   * keeps a busy origin within the receiver's replay memory. Sparse changes go out at once; changes that
   * arrive while the bucket is empty wait (a few ms) and go out together.
   */
  private queue(target: PushTarget, item: PendingPush): void {
    let state = this.pushState.get(target);
    if (!state) this.pushState.set(target, (state = { pending: [], timer: null, tokens: klp.PUSH_BURST, refilledAt: this.now() }));
    state.pending.push(item);
    if (state.timer) return;
    this.refill(state);
    if (state.tokens >= 1) {
      this.flush(target, state);
      return;
    }
    const wait = Math.ceil(((1 - state.tokens) * 1000) / klp.PUSH_RATE_PER_SECOND);
    state.timer = setTimeout(() => {
      state.timer = null;
      this.refill(state);
      this.flush(target, state);
    }, wait);
    state.timer.unref();
  }

  private refill(state: PushState): void {
    const now = this.now();
    state.tokens = Math.min(klp.PUSH_BURST, state.tokens + ((now - state.refilledAt) * klp.PUSH_RATE_PER_SECOND) / 1000);
    state.refilledAt = now;
  }

  private flush(target: PushTarget, state: PushState): void {
    while (state.pending.length > 0 && this.subscribers.has(target)) {
      const batch = state.pending.splice(0, klp.STATE_SYNC_MAX_BATCH);
      const first = batch[0]!;
      const envelope = klp.createEnvelope(
        {
          type: "capability_announce",
          to: target.peerDid,
          payload: { serviceId: first.statement.serviceId, version: first.version, capabilities: first.capabilities, statements: batch.map((item) => item.statement) },
        },
        this.options.identity(),
      );
      state.tokens -= 1;
      if (!target.push(envelope)) this.drop(target);
    }
  }

  private drop(target: PushTarget): void {
    this.subscribers.delete(target);
    const state = this.pushState.get(target);
    if (state?.timer) clearTimeout(state.timer);
    this.pushState.delete(target);
  }

  /** From the in-memory feed, which knows each change's previous state; null when it does not reach back. */
  private changesFromFeed(since: number, limit: number): { statements: klp.FederationStatement[]; revision: number; more: boolean } | null {
    const changes = this.options.feed.changesSince(since);
    if (changes === null) return null;
    const batch = changes.slice(0, limit);
    const revision = batch.length > 0 ? batch[batch.length - 1]!.event.revision : this.options.feed.revision;
    return { statements: this.statementsOf(batch), revision: Math.max(revision, since), more: changes.length > limit };
  }

  /** The statements of a run of changes (each with its previous state): the latest per record. */
  private statementsOf(batch: readonly Change[]): klp.FederationStatement[] {
    const latest = new Map<string, { change: Change; wasPublic: boolean }>();
    for (const change of batch) {
      const id = change.event.service.id;
      // Across several changes of one record, "was public" means public before the first of them or after any
      // but the last: a peer may have received any of those states by push.
      const earlier = latest.get(id);
      const wasPublic = earlier ? earlier.wasPublic || isPublic(earlier.change.event.service) : isPublic(change.previous);
      latest.set(id, { change, wasPublic: wasPublic || (change.event.event === "deregistered" && isPublic(change.event.service)) });
    }
    const statements: klp.FederationStatement[] = [];
    for (const { change, wasPublic } of latest.values()) {
      const statement = this.statementFor(change.event.service, change.event.event === "deregistered", wasPublic);
      if (statement) statements.push(statement);
    }
    return statements;
  }

  /**
   * From the store's event log (older than the feed's window, or, on one instance of a cluster, newer than what
   * this instance's feed has caught up with: a peer may have pulled from a quicker instance before). A shared
   * database keeps each change's previous state, so the answer is the one the feed would give; elsewhere
   * previous states are unknown here.
   */
  private async changesFromLog(since: number, limit: number): Promise<{ statements: klp.FederationStatement[]; revision: number; more: boolean } | "compacted"> {
    const store = this.options.store;
    if (isSharedStorage(store)) {
      const changes = await store.changesSince(since, limit);
      if (changes === "compacted") return "compacted";
      const revision = changes.length > 0 ? changes[changes.length - 1]!.event.revision : await store.currentRevision();
      return { statements: this.statementsOf(changes), revision: Math.max(revision, since), more: changes.length === limit };
    }
    const events = await store.eventsSince(since, limit);
    if (events === "compacted") return "compacted";
    const latest = new Map<string, (typeof events)[number]>();
    for (const event of events) latest.set(event.service.id, event);
    const statements: klp.FederationStatement[] = [];
    for (const event of latest.values()) {
      const deleted = event.event === "deregistered";
      const statement = this.statementFor(event.service, deleted, deleted && isPublic(event.service));
      if (statement) statements.push(statement);
    }
    const revision = events.length > 0 ? events[events.length - 1]!.revision : await store.currentRevision();
    return { statements, revision: Math.max(revision, since), more: events.length === limit };
  }

  /** One page of every public record; the first page's `revision` is what the asker holds once all pages are in. */
  private async snapshotPage(request: klp.StateSyncRequest, limit: number): Promise<klp.StateSyncAnswer> {
    const revision = await this.options.store.currentRevision();
    const page = await this.options.store.listServices({
      filter: { visibility: "public" },
      viewer: ADMIN_VIEW,
      limit,
      ...(request.snapshotCursor !== undefined ? { cursor: request.snapshotCursor } : {}),
    });
    const nowMs = this.now();
    const identity = this.options.identity();
    return {
      sinceRevision: request.sinceRevision,
      mode: "snapshot",
      revision,
      headRevision: revision,
      epoch: this.options.epoch,
      statements: page.services.flatMap((record) => {
        const statement = signRecordStatement(record, identity, nowMs, this.options.recordTtlSeconds);
        if (statement) return [statement];
        this.unsignable(record.id);
        return [];
      }),
      more: page.nextCursor !== null,
      nextSnapshotCursor: page.nextCursor,
    };
  }
}
