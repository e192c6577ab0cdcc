/**
 * @module registry/registry-service
 * The registry's rules: who may register, see, change, heartbeat and remove which service; what counts
 * as a change; and the one path by which every change is written (record and event in one storage
 * write) and then published on the change feed in revision order.
 */
import { randomUUID } from "node:crypto";
import type {
  BulkDeregistrationResponse,
  BulkRegistrationAction,
  BulkRegistrationResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  ListServicesQuery,
  ListServicesResponse,
  RegistryEvent,
  ServicePatch,
  ServiceAuth,
  ServiceRecord,
  ServiceRegistration,
} from "@kai/protocol";

/** `auth` as a registration or patch carries it: possibly with a raw `token` still to be moved to the vault. */
type ServiceAuthInput = ServiceRegistration["auth"];
import { RevisionConflict, type NodeStore, type ServiceDraft, type ServiceChange, type ServiceDecision, type ServiceDelete, type ServiceWrite } from "../storage/contracts/node-store.js";
import { InvalidCursorError } from "../storage/contracts/page-cursor.js";
import { canSee } from "../storage/contracts/viewer.js";
import { isAdmin, viewerOf, type Principal } from "../auth/principal.js";
import { ApiError, conflict, forbidden, notFound } from "../errors.js";
import type { ChangeFeed } from "./change-feed.js";
import type { LeaseTable } from "./lease-table.js";
import type { Vault, VaultActor } from "../vault/vault.js";
import { applyPatch, classifyChange, recordFromRegistration, withStatus } from "./service-record.js";
import { healthOf, type HealthView } from "./health-verdicts.js";
import { atEntry, atEntryAsync, refuseRepeatedIds } from "./bulk-entries.js";

export interface RegistryServiceDeps {
  store: NodeStore;
  feed: ChangeFeed;
  leases: LeaseTable;
  now?: () => number;
  /**
   * The health checker's verdicts (health-verdicts.ts): a service whose check is failing is not brought back by
   * heartbeats, and reads (`get`, `list`) show the verdict as `health`. Without it every verdict is `unknown`.
   */
  health?: HealthView;
  /** Where a raw credential that arrives with a registration (`auth.token`) is kept instead of the registry. */
  vault?: Vault;
  /**
   * In a cluster the feed has one writer, the tailer of the shared event log (cluster/change-tailer.ts): a commit
   * hands its change to the tailer, which publishes it in revision order (at once when nothing of another instance
   * comes before it), instead of publishing itself. Without it (one
   * process) each commit publishes its own change.
   */
  awaitPublished?: (change: { event: RegistryEvent; previous: ServiceRecord | null }) => Promise<void>;
}


/** A raw credential checked by the vault but not stored yet: stored once the record that refers to it committed. */
interface PendingCredential {
  id: string;
  token: string;
  actor: VaultActor;
}

export class RegistryService {
  private readonly store: NodeStore;
  private readonly feed: ChangeFeed;
  private readonly leases: LeaseTable;
  private readonly now: () => number;
  private readonly vault: Vault | undefined;
  private readonly health: HealthView | undefined;
  private readonly published: ((change: { event: RegistryEvent; previous: ServiceRecord | null }) => Promise<void>) | null;

  constructor(deps: RegistryServiceDeps) {
    this.published = deps.awaitPublished ?? null;
    this.health = deps.health;
    this.store = deps.store;
    this.feed = deps.feed;
    this.leases = deps.leases;
    this.now = deps.now ?? Date.now;
    this.vault = deps.vault;
  }

  async register(principal: Principal, input: ServiceRegistration): Promise<{ record: ServiceRecord; created: boolean }> {
    this.checkClaims(principal, isAdmin(principal), input);
    const id = input.id ?? randomUUID();
    const { token, ...plain } = input.auth;
    let auth: ServiceAuth = plain;
    let pending: PendingCredential | null = null;
    if (token !== undefined) {
      // Another owner's id is refused before the vault is asked anything (below, again, as part of the write).
      this.checkRegistrant(principal, id, await this.store.getService(id));
      ({ auth, pending } = await this.checkCredential(principal, id, input.auth));
    }
    const nowMs = this.now();
    const nowIso = new Date(nowMs).toISOString();
    // Read and write in one storage step: PostgreSQL decides in the batch that writes, under its lock, so a
    // registration costs no read round trip of its own; the others read and write conditionally on the revision.
    const { previous, event } = await this.commitChange(id, (existing) => {
      this.checkRegistrant(principal, id, existing);
      const owner = input.owner ?? existing?.owner ?? principal.owner;
      const draft = this.keepHeldStatus(existing, recordFromRegistration(input, auth, id, owner, existing, nowIso));
      // handOver: each call of this decision builds its own draft, used for nothing else.
      if (!existing) return { event: "registered", record: draft, handOver: true };
      const kind = classifyChange(existing, draft);
      // A re-registration that changes nothing is a heartbeat, not an event.
      return kind === "none" ? null : { event: kind, record: draft, handOver: true };
    });
    // Committed (or nothing to change, e.g. a new token behind the same reference): now the credential.
    await this.storeCredentials([pending]);
    if (!event) {
      if (!previous) throw new Error(`registering ${id} decided nothing for an absent record`);
      this.noteBeat(previous, nowMs);
      return { record: { ...previous, heartbeat: nowIso }, created: false };
    }
    this.leases.track(event.service, nowMs, nowMs);
    return { record: event.service, created: previous === null };
  }

  /**
   * Registers a batch (`POST /api/services/bulk`) by `register`'s rules, all or nothing: every entry is checked first
   * (owner, trust level, the id not another owner's, each credential as the vault would take it; a refusal names the
   * entry as `services.<i>`), every change is written in ONE storage transaction, each
   * conditional on the revision read (a change in between: 409, nothing written, no credential replaced), and the
   * credentials go to the vault only once it committed. Then each event is published, in order. An entry that changes
   * nothing is a heartbeat, as in `register`, and no event.
   */
  async registerMany(principal: Principal, inputs: readonly ServiceRegistration[]): Promise<BulkRegistrationResponse> {
    const admin = isAdmin(principal);
    const ids = inputs.map((input) => input.id ?? randomUUID());
    refuseRepeatedIds(ids);
    inputs.forEach((input, index) => atEntry(index, ids[index]!, () => this.checkClaims(principal, admin, input)));
    const stored = await this.store.getServices(ids);
    ids.forEach((id, index) => atEntry(index, id, () => this.checkRegistrant(principal, id, stored[index] ?? null)));
    // One at a time: a batch with tokens is rare, and a locked vault should refuse at the first.
    const auths: ServiceAuth[] = [];
    const pending: Array<PendingCredential | null> = [];
    for (const [index, input] of inputs.entries()) {
      if (input.auth.token === undefined) {
        // No vault step: no promise and no await per entry (a 1000-entry batch of plain records is the bulk load).
        const { token: _none, ...plain } = input.auth;
        auths.push(plain);
        pending.push(null);
        continue;
      }
      const checked = await atEntryAsync(index, ids[index]!, () => this.checkCredential(principal, ids[index]!, input.auth));
      auths.push(checked.auth);
      pending.push(checked.pending);
    }
    const nowMs = this.now();
    const nowIso = new Date(nowMs).toISOString();
    const writes: ServiceWrite[] = [];
    const previous: Array<ServiceRecord | null> = [];
    const actions: BulkRegistrationAction[] = inputs.map((input, index) => {
      const existing = stored[index] ?? null;
      const owner = input.owner ?? existing?.owner ?? principal.owner;
      const draft = this.keepHeldStatus(existing, recordFromRegistration(input, auths[index]!, ids[index]!, owner, existing, nowIso));
      const kind = existing ? classifyChange(existing, draft) : "registered";
      if (kind === "none") return "unchanged";
      writes.push({ event: kind, record: draft, expectedRevision: existing?.revision ?? 0, handOver: true });
      previous.push(existing);
      return existing ? "updated" : "created";
    });
    const events = writes.length > 0 ? await this.commitMany(writes, previous) : [];
    await this.storeCredentials(pending);
    for (const event of events) this.leases.track(event.service, nowMs, nowMs);
    actions.forEach((action, index) => {
      if (action === "unchanged") this.noteBeat(stored[index]!, nowMs);
    });
    return { results: ids.map((id, index) => ({ id, action: actions[index]! })), revision: events.at(-1)?.revision ?? this.feed.revision };
  }

  /**
   * A registration counts as a heartbeat, so it follows the heartbeat's rule for the status: a service in
   * `maintenance` stays there (it is left by a patch), and one that is `offline` because its health check fails is not
   * brought back by hearing from it. Before, a re-registration (and so every `kai services apply` of an unchanged
   * manifest) set such a service `active`, hiding a failure until the next check.
   */
  private keepHeldStatus(existing: ServiceRecord | null, draft: ServiceDraft): ServiceDraft {
    if (!existing) return draft;
    const held = existing.status === "maintenance" || (existing.status === "offline" && this.health?.of(existing.id) === "failing");
    if (!held) return draft;
    draft.status = existing.status;
    if (existing.statusNote !== undefined) draft.statusNote = existing.statusNote;
    return draft;
  }

  /** `register`'s claims a caller must be an admin to make: another owner, or a trust level above `unverified`. */
  private checkClaims(principal: Principal, admin: boolean, input: ServiceRegistration): void {
    if (input.owner !== undefined && input.owner !== principal.owner && !admin) {
      throw forbidden("only an admin may register a service for another owner");
    }
    if (input.trustLevel !== "unverified" && !admin) throw forbidden(`only an admin may set trustLevel ${input.trustLevel}`);
  }

  /** Another owner's id is taken; do not reveal private records: the caller learns only that the id is taken. */
  private checkRegistrant(principal: Principal, id: string, existing: ServiceRecord | null): void {
    if (existing && existing.owner !== principal.owner && !isAdmin(principal)) {
      throw conflict(`service id ${id} is registered by another owner`);
    }
  }

  async patch(principal: Principal, id: string, patch: ServicePatch): Promise<ServiceRecord> {
    const existing = await this.loadOwned(principal, id);
    const admin = isAdmin(principal);
    if (patch.owner !== undefined && patch.owner !== existing.owner && !admin) throw forbidden("only an admin may change a service's owner");
    if (patch.trustLevel !== undefined && patch.trustLevel !== "unverified" && !admin) throw forbidden(`only an admin may set trustLevel ${patch.trustLevel}`);
    if (patch.expectedRevision !== undefined && patch.expectedRevision !== existing.revision) {
      throw conflict(`service ${id} is at revision ${existing.revision}, not ${patch.expectedRevision}`);
    }
    const checked = patch.auth === undefined ? undefined : await this.checkCredential(principal, id, patch.auth);
    const nowMs = this.now();
    const draft = applyPatch(existing, checked === undefined ? patch : { ...patch, auth: checked.auth }, new Date(nowMs).toISOString());
    const kind = classifyChange(existing, draft);
    if (kind === "none") {
      // A new token behind the same reference changes no record, only the credential.
      await this.storeCredentials([checked?.pending ?? null]);
      return existing;
    }
    const event = await this.commit({ event: kind, record: draft, expectedRevision: existing.revision }, existing);
    await this.storeCredentials([checked?.pending ?? null]);
    // A status set by hand (e.g. back from maintenance) starts a fresh lease.
    this.leases.track(event.service, nowMs, patch.status !== undefined || patch.ttl !== undefined ? nowMs : undefined);
    return event.service;
  }

  async heartbeat(principal: Principal, id: string, body: HeartbeatRequest): Promise<HeartbeatResponse> {
    const nowMs = this.now();
    const lease = this.leases.get(id);
    if (lease && !lease.busy) {
      this.authorizeOwner(principal, lease);
      const wanted = body.status;
      const unchanged = lease.status !== "offline" && (wanted === undefined || wanted === lease.status || lease.status === "maintenance");
      if (unchanged) {
        // The hot path: no storage read, no event; the time is saved in the next batch.
        this.leases.beat(lease, nowMs);
        return { id, status: lease.status, expiresAt: new Date(lease.expiresAt).toISOString(), revision: lease.revision };
      }
    }
    const existing = await this.loadOwned(principal, id);
    const nowIso = new Date(nowMs).toISOString();
    let record = existing;
    const heldOffline = existing.status === "offline" && this.health?.of(id) === "failing";
    const next = existing.status === "maintenance" || heldOffline ? existing.status : (body.status ?? "active");
    if (next !== existing.status) {
      const note = body.note ?? (existing.status === "offline" ? "heartbeat received" : undefined);
      const draft = withStatus(existing, next, note, nowIso, nowIso);
      const event = await this.commit({ event: "status_changed", record: draft, expectedRevision: existing.revision }, existing);
      record = event.service;
      this.leases.track(record, nowMs, nowMs);
    } else {
      this.noteBeat(existing, nowMs);
    }
    const current = this.leases.get(id);
    return {
      id,
      status: record.status,
      expiresAt: current ? new Date(current.expiresAt).toISOString() : null,
      revision: record.revision,
    };
  }

  async remove(principal: Principal, id: string): Promise<void> {
    const existing = await this.loadOwned(principal, id);
    await this.commitDelete(existing);
  }

  /**
   * Deregisters a batch (`POST /api/services/bulk-delete`) by `remove`'s rules, all or nothing: the records are read
   * in one step, every id is checked before anything is removed (owner or admin; a refusal names the entry as
   * `ids.<i>`; ids named twice are refused), and the removals are written in ONE storage transaction, each
   * conditional on the revision read (a change in between: 409, nothing removed). Then each `deregistered` event is
   * published, in order, exactly as `remove` publishes one.
   *
   * An id without a record the caller may see is `absent` in the results, not a refusal of the batch: a prune lists
   * the records and then removes them, and one removed meanwhile (by its owner, by the lease monitor) is already where
   * the caller wants it; failing the batch for it would make a large prune fail at random. `absent` tells the caller
   * no more than `remove`'s 404 would. `refuseAbsent` may still refuse such an id (it returns the error): the route's
   * 409 for a record imported from a federation peer, which stays listed however often it is removed here.
   */
  async removeMany(principal: Principal, ids: readonly string[], refuseAbsent?: (id: string) => ApiError | undefined): Promise<BulkDeregistrationResponse> {
    refuseRepeatedIds(ids, "ids");
    const viewer = viewerOf(principal);
    const stored = await this.store.getServices(ids);
    const deletes: ServiceDelete[] = [];
    const previous: ServiceRecord[] = [];
    ids.forEach((id, index) => {
      atEntry(index, id, () => {
        const record = stored[index] ?? null;
        if (!record || !canSee(viewer, record)) {
          const refusal = refuseAbsent?.(id);
          if (refusal) throw refusal;
          return;
        }
        this.authorizeOwner(principal, record);
        deletes.push({ id, expectedRevision: record.revision });
        previous.push(record);
      }, "ids");
    });
    const events = deletes.length > 0 ? await this.commitDeletes(deletes, previous) : [];
    // A record found but gone by the time of the write (deleted in between, e.g. by its lease's expiry) is absent too.
    const removed = new Set(events.flatMap((event) => (event ? [event.service.id] : [])));
    const last = events.reduce((revision, event) => Math.max(revision, event?.revision ?? 0), 0);
    return { results: ids.map((id) => ({ id, action: removed.has(id) ? "removed" : "absent" })), revision: last > 0 ? last : this.feed.revision };
  }

  async get(principal: Principal, id: string): Promise<ServiceRecord> {
    const record = await this.store.getService(id);
    if (!record || !canSee(viewerOf(principal), record)) throw notFound("service");
    return this.asRead(record);
  }

  /**
   * A value that changes whenever a listing may answer differently: a change published on the feed, a health verdict
   * that changed. Undefined in a cluster, where another instance's commit is visible to a query before it reaches
   * this instance's feed: there, only a query is current. Read it before a `list` to tag that listing (a change
   * committed meanwhile then makes the tag old, never the listing).
   */
  listingVersion(): string | undefined {
    if (this.published) return undefined;
    return `${this.feed.revision}:${this.health?.version ?? 0}`;
  }

  async list(principal: Principal, query: ListServicesQuery): Promise<ListServicesResponse> {
    const { limit, cursor, sort, order, ...filter } = query;
    // Read the revision first: every change after it is newer than this answer, so a watch from it misses nothing.
    const revision = this.feed.revision;
    let page;
    try {
      page = await this.store.listServices({ filter, viewer: viewerOf(principal), limit, sort, order, ...(cursor !== undefined ? { cursor } : {}) });
    } catch (error) {
      if (error instanceof InvalidCursorError) {
        throw new ApiError("validation_failed", "invalid cursor", [{ path: "cursor", message: "is not a cursor this server issued" }]);
      }
      throw error;
    }
    return { services: page.services.map((record) => this.asRead(record)), revision, nextCursor: page.nextCursor };
  }

  /** Marks a service offline (lease expired or health check failing). Returns false if it changed meanwhile. */
  async setStatusBySystem(id: string, status: ServiceRecord["status"], note: string, expectedRevision?: number): Promise<boolean> {
    const existing = await this.store.getService(id);
    if (!existing || existing.status === status || (expectedRevision !== undefined && existing.revision !== expectedRevision)) return false;
    if (existing.status === "maintenance") return false;
    const nowMs = this.now();
    const nowIso = new Date(nowMs).toISOString();
    try {
      const event = await this.commit(
        { event: "status_changed", record: withStatus(existing, status, note, nowIso), expectedRevision: existing.revision },
        existing,
      );
      this.leases.track(event.service, nowMs, status === "offline" ? undefined : nowMs);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.code === "conflict") return false;
      throw error;
    }
  }

  /** Removes a service on the registry's own authority (grace period after expiry ran out). */
  async deregisterBySystem(id: string, expectedRevision: number): Promise<boolean> {
    const existing = await this.store.getService(id);
    if (!existing || existing.revision !== expectedRevision) return false;
    try {
      await this.commitDelete(existing);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.code === "conflict") return false;
      throw error;
    }
  }

  /**
   * Checks a raw credential (`auth.token`) as the vault would take it, without storing it, and returns `auth` with
   * only the reference `credentialRef: vault:services/<id>/credential`, plus the credential to store once the record
   * committed (`storeCredentials`). Runs after the ownership checks and before anything is written, so a locked vault
   * (503 vault_locked) leaves the registry untouched; storing only after the commit means a refused write (a
   * conflict, a batch refused as a whole) never replaces a credential the stored record uses. If storing fails after
   * the commit, the caller gets the error and the record refers to the previous value (or none) until a retry.
   */
  private async checkCredential(principal: Principal, id: string, auth: ServiceAuthInput): Promise<{ auth: ServiceAuth; pending: PendingCredential | null }> {
    const { token, ...rest } = auth;
    if (token === undefined) return { auth: rest, pending: null };
    if (!this.vault) throw new ApiError("unavailable", "this registry has no vault to keep auth.token in; reference the credential with auth.credentialRef instead");
    const actor: VaultActor = { tokenId: principal.tokenId, owner: principal.owner, scopes: principal.scopes };
    if (principal.secretPatterns !== undefined) actor.secretPatterns = principal.secretPatterns;
    const credentialRef = await this.vault.checkServiceCredential(id, token, actor);
    return { auth: { ...rest, credentialRef }, pending: { id, token, actor } };
  }

  /** Stores the credentials `checkCredential` let through, once their records committed. */
  private async storeCredentials(pending: ReadonlyArray<PendingCredential | null>): Promise<void> {
    for (const credential of pending) {
      if (credential) await this.vault!.storeServiceCredential(credential.id, credential.token, credential.actor);
    }
  }

  /** Loads a record the principal may change: 404 if they cannot see it, 403 if they can but do not own it. */
  private async loadOwned(principal: Principal, id: string): Promise<ServiceRecord> {
    const record = await this.store.getService(id);
    if (!record || !canSee(viewerOf(principal), record)) throw notFound("service");
    this.authorizeOwner(principal, record);
    return record;
  }

  private authorizeOwner(principal: Principal, record: Pick<ServiceRecord, "owner" | "visibility">): void {
    if (record.owner === principal.owner || isAdmin(principal)) return;
    if (!canSee(viewerOf(principal), record)) throw notFound("service");
    throw forbidden("only the service's owner or an admin may change it");
  }

  private noteBeat(record: ServiceRecord, nowMs: number): void {
    const lease = this.leases.get(record.id);
    if (lease) this.leases.beat(lease, nowMs);
    else this.leases.queueBeat(record.id, nowMs);
  }

  /**
   * A stored record as reads return it: the lease's latest heartbeat (saved in batches) and the health verdict.
   * Set in place: every store read hands out its own copy (the memory store clones, SQLite parses each row), and
   * copying a record again costs about as much as parsing it (a spread: ~250 µs per 100-record page, measured).
   */
  private asRead(record: ServiceRecord): ServiceRecord {
    record.health = healthOf(record.id, this.health);
    const lease = this.leases.get(record.id);
    if (!lease) return record;
    const stored = record.heartbeat ? Date.parse(record.heartbeat) : 0;
    if (lease.lastBeat > stored) record.heartbeat = new Date(lease.lastBeat).toISOString();
    return record;
  }

  /**
   * Writes one change and publishes it. The publication is chained directly on the storage promise, so
   * changes reach the feed in the order storage committed them (revision order).
   */
  private commit(write: ServiceWrite, previous: ServiceRecord | null): Promise<RegistryEvent> {
    return this.store
      .writeService(write)
      .then(async (event) => {
        await this.publish({ event, previous });
        return event;
      })
      .catch((error: unknown) => {
        if (error instanceof RevisionConflict) throw conflict(`service ${write.record.id} changed concurrently; retry`);
        throw error;
      });
  }

  /**
   * `commit` for a batch: one storage transaction. Every publication starts before the first await, so no other
   * commit's publication lands between them and the feed stays in revision order.
   */
  private commitMany(writes: ServiceWrite[], previous: Array<ServiceRecord | null>): Promise<RegistryEvent[]> {
    return this.store
      .writeServices(writes)
      .then(async (events) => {
        if (this.published) await Promise.all(events.map((event, index) => this.publish({ event, previous: previous[index] ?? null })));
        // No publication hook: the feed publishes synchronously, without a promise per event of a bulk batch.
        else events.forEach((event, index) => this.feed.publish({ event, previous: previous[index] ?? null }));
        return events;
      })
      .catch((error: unknown) => {
        if (error instanceof RevisionConflict) throw conflict(`service ${error.serviceId} changed concurrently; retry (nothing of the batch was written)`);
        throw error;
      });
  }

  /** `commit` for a change decided against the stored record in the same storage step (`changeService`). */
  private commitChange(id: string, decide: ServiceDecision): Promise<ServiceChange> {
    return this.store
      .changeService(id, decide)
      .then(async (change) => {
        if (change.event) await this.publish({ event: change.event, previous: change.previous });
        return change;
      })
      .catch((error: unknown) => {
        if (error instanceof RevisionConflict) throw conflict(`service ${id} changed concurrently; retry`);
        throw error;
      });
  }

  /** Puts a committed change on the feed: directly (one process), or by waiting for the cluster's tailer. */
  private async publish(change: { event: RegistryEvent; previous: ServiceRecord | null }): Promise<void> {
    if (this.published) await this.published(change);
    else this.feed.publish(change);
  }

  /**
   * `commitDelete` for a batch: one storage transaction, then what `commitDelete` does for each record (its lease
   * dropped, its event published). Every publication starts before the first await, so no other commit's publication
   * lands between them and the feed stays in revision order.
   */
  private commitDeletes(deletes: ServiceDelete[], previous: ServiceRecord[]): Promise<Array<RegistryEvent | null>> {
    return this.store
      .deleteServices(deletes)
      .then(async (events) => {
        for (const { id } of deletes) this.leases.remove(id);
        const changes = events.flatMap((event, index) => (event ? [{ event, previous: previous[index]! }] : []));
        if (this.published) await Promise.all(changes.map((change) => this.publish(change)));
        else for (const change of changes) this.feed.publish(change);
        return events;
      })
      .catch((error: unknown) => {
        if (error instanceof RevisionConflict) throw conflict(`service ${error.serviceId} changed concurrently; retry (nothing of the batch was removed)`);
        throw error;
      });
  }

  private commitDelete(existing: ServiceRecord): Promise<void> {
    return this.store
      .deleteService(existing.id, existing.revision)
      .then(async (event) => {
        this.leases.remove(existing.id);
        if (event) await this.publish({ event, previous: existing });
      })
      .catch((error: unknown) => {
        if (error instanceof RevisionConflict) throw conflict(`service ${existing.id} changed concurrently; retry`);
        throw error;
      });
  }
}
