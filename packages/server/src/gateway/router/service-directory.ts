/**
 * @module gateway/router/service-directory
 * The router's in-memory copy of the registry, kept current by the change feed: a service registered,
 * changed or removed at run time is routable (or not) on the next request, with no restart and no
 * storage read on the hot path. Indexed by capability, since every route starts from one.
 *
 * Loading the initial snapshot races with live changes, so it subscribes first and applies whichever
 * state of a record carries the higher revision (deletions seen meanwhile leave a tombstone).
 */
import type { ServiceRecord } from "@kai/protocol";
import type { Change, ChangeFeed } from "../../registry/change-feed.js";
import type { NodeStore } from "../../storage/contracts/node-store.js";

/** What a directory listener hears: the new record, or null when the service was removed. */
export interface DirectoryChange {
  readonly serviceId: string;
  readonly previous: ServiceRecord | undefined;
  readonly current: ServiceRecord | null;
}

export type DirectoryListener = (change: DirectoryChange) => void;

const PAGE = 1000;

export class ServiceDirectory {
  private readonly records = new Map<string, ServiceRecord>();
  private readonly byCapability = new Map<string, Set<string>>();
  /** Revisions of removals seen while the initial snapshot loads, so a stale page cannot resurrect them. */
  private tombstones: Map<string, number> | null = new Map();
  private readonly listeners = new Set<DirectoryListener>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly store: NodeStore,
    private readonly feed: ChangeFeed,
  ) {}

  /** Subscribes to the feed, then loads every record (the registry's own view: admin, all owners). */
  async start(): Promise<void> {
    this.unsubscribe = this.feed.subscribe((change) => this.onChange(change));
    let cursor: string | undefined;
    do {
      const page = await this.store.listServices({ filter: {}, viewer: { owner: "", admin: true }, limit: PAGE, ...(cursor ? { cursor } : {}) });
      for (const record of page.services) {
        const dead = this.tombstones?.get(record.id);
        const known = this.records.get(record.id);
        if ((dead === undefined || dead < record.revision) && (!known || known.revision < record.revision)) this.put(record);
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    this.tombstones = null;
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** Hears every change after it was applied. */
  subscribe(listener: DirectoryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(serviceId: string): ServiceRecord | undefined {
    return this.records.get(serviceId);
  }

  all(): IterableIterator<ServiceRecord> {
    return this.records.values();
  }

  /** Every record offering `capability`, whatever its status or visibility (the caller filters). */
  withCapability(capability: string): ServiceRecord[] {
    const ids = this.byCapability.get(capability);
    if (!ids) return [];
    const out: ServiceRecord[] = [];
    for (const id of ids) {
      const record = this.records.get(id);
      if (record) out.push(record);
    }
    return out;
  }

  private onChange({ event }: Change): void {
    const record = event.service;
    if (event.event === "deregistered") {
      this.tombstones?.set(record.id, event.revision);
      this.remove(record.id);
      return;
    }
    const known = this.records.get(record.id);
    if (known && known.revision >= record.revision) return;
    this.put(record);
  }

  private put(record: ServiceRecord): void {
    const previous = this.records.get(record.id);
    if (previous) this.unindex(previous);
    this.records.set(record.id, record);
    for (const capability of record.capabilities) {
      let ids = this.byCapability.get(capability);
      if (!ids) this.byCapability.set(capability, (ids = new Set()));
      ids.add(record.id);
    }
    this.emit({ serviceId: record.id, previous, current: record });
  }

  private remove(serviceId: string): void {
    const previous = this.records.get(serviceId);
    if (!previous) return;
    this.unindex(previous);
    this.records.delete(serviceId);
    this.emit({ serviceId, previous, current: null });
  }

  private unindex(record: ServiceRecord): void {
    for (const capability of record.capabilities) {
      const ids = this.byCapability.get(capability);
      ids?.delete(record.id);
      if (ids?.size === 0) this.byCapability.delete(capability);
    }
  }

  private emit(change: DirectoryChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not stop the others or the feed; listeners log their own errors.
      }
    }
  }
}
