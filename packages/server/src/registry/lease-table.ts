/**
 * @module registry/lease-table
 * In-memory leases of the services that declared a `ttl`. A heartbeat only moves a deadline here; it is
 * written to storage in batches (it is not a change anyone watches), which is what lets heartbeats run
 * at tens of thousands per second. After a restart every lease gets one fresh ttl, because heartbeats
 * could not land while the registry was away.
 */
import type { ServiceRecord } from "@kai/protocol";
import type { LeaseRow } from "../storage/contracts/node-store.js";

export interface Lease {
  id: string;
  owner: string;
  visibility: ServiceRecord["visibility"];
  status: ServiceRecord["status"];
  revision: number;
  ttlMs: number;
  /** Deadline for the next heartbeat, ms since epoch. */
  expiresAt: number;
  /** Last heartbeat (or registration), ms since epoch. */
  lastBeat: number;
  /** When the lease expired and the service went offline; drives deregistration after the grace period. */
  offlineSince: number | null;
  /** Set while a status change for this lease is being written, so two sweeps do not race. */
  busy: boolean;
}

export class LeaseTable {
  private readonly leases = new Map<string, Lease>();
  private pendingBeats = new Map<string, number>();

  get size(): number {
    return this.leases.size;
  }

  get(id: string): Lease | undefined {
    return this.leases.get(id);
  }

  values(): IterableIterator<Lease> {
    return this.leases.values();
  }

  /**
   * Tracks (or stops tracking) a record after it was written. `beatAt` is the time to count as the last
   * heartbeat; when omitted the existing lease keeps its deadline.
   */
  track(record: ServiceRecord, now: number, beatAt?: number): void {
    if (record.ttl === undefined) {
      this.leases.delete(record.id);
      return;
    }
    const existing = this.leases.get(record.id);
    const ttlMs = record.ttl * 1000;
    const lastBeat = beatAt ?? existing?.lastBeat ?? now;
    const wentOffline = record.status === "offline";
    this.leases.set(record.id, {
      id: record.id,
      owner: record.owner,
      visibility: record.visibility,
      status: record.status,
      revision: record.revision,
      ttlMs,
      expiresAt: beatAt !== undefined || !existing ? lastBeat + ttlMs : existing.expiresAt - existing.ttlMs + ttlMs,
      lastBeat,
      offlineSince: wentOffline ? (existing?.offlineSince ?? now) : null,
      busy: false,
    });
  }

  /**
   * Follows a change another instance of the node committed (a cluster): the lease is created, updated or dropped
   * as that instance's own table did, so heartbeats to THIS instance take the fast path for services registered
   * elsewhere, and this instance can take over the sweeps. A change this table already holds is ignored.
   */
  follow(record: ServiceRecord, deleted: boolean, now: number): void {
    if (deleted) {
      this.remove(record.id);
      return;
    }
    const existing = this.leases.get(record.id);
    if (existing && existing.revision >= record.revision) return;
    // The record's heartbeat is the time its writer counted as the last one (e.g. a heartbeat that revived it).
    const beat = record.heartbeat ? Date.parse(record.heartbeat) : Number.NaN;
    const beatAt = !existing ? now : Number.isFinite(beat) && beat > existing.lastBeat ? beat : undefined;
    this.track(record, now, beatAt);
  }

  /**
   * Takes heartbeat times saved by other instances (a cluster): a lease whose stored heartbeat is newer than the
   * one this table holds moves its deadline. Returns how many moved.
   */
  mergeStoredBeats(rows: ReadonlyArray<Pick<LeaseRow, "id" | "heartbeatAt">>): number {
    let moved = 0;
    for (const row of rows) {
      const lease = this.leases.get(row.id);
      if (!lease || row.heartbeatAt === null || row.heartbeatAt <= lease.lastBeat) continue;
      lease.lastBeat = row.heartbeatAt;
      lease.expiresAt = row.heartbeatAt + lease.ttlMs;
      moved++;
    }
    return moved;
  }

  /** Loads the leases stored before a restart, each with one fresh ttl from `now`. */
  restore(rows: ReadonlyArray<LeaseRow>, now: number): void {
    for (const row of rows) {
      const ttlMs = row.ttl * 1000;
      this.leases.set(row.id, {
        id: row.id,
        owner: row.owner,
        visibility: row.visibility,
        status: row.status,
        revision: row.revision,
        ttlMs,
        expiresAt: now + ttlMs,
        lastBeat: row.heartbeatAt ?? row.updatedAt,
        offlineSince: row.status === "offline" ? now : null,
        busy: false,
      });
    }
  }

  remove(id: string): void {
    this.leases.delete(id);
    this.pendingBeats.delete(id);
  }

  /** Records a heartbeat: moves the deadline and queues the time to be saved. */
  beat(lease: Lease, now: number): void {
    lease.lastBeat = now;
    lease.expiresAt = now + lease.ttlMs;
    this.pendingBeats.set(lease.id, now);
  }

  /** Queues a heartbeat time for a service without a lease (no ttl). */
  queueBeat(id: string, at: number): void {
    this.pendingBeats.set(id, at);
  }

  /** Hands over the heartbeat times queued since the last call. */
  drainBeats(): Array<{ id: string; at: number }> {
    if (this.pendingBeats.size === 0) return [];
    const beats = [...this.pendingBeats].map(([id, at]) => ({ id, at }));
    this.pendingBeats = new Map();
    return beats;
  }

  /** Moves every deadline later by `ms` (the registry itself was away for that long). */
  extendAll(ms: number): void {
    for (const lease of this.leases.values()) lease.expiresAt += ms;
  }
}
