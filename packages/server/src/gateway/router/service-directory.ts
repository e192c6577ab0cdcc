/**
 * @module gateway/router/service-directory
 * The router's in-memory copy of the registry, kept current by the change feed: a service registered,
 * changed or removed at run time is routable (or not) on the next request, with no restart and no
 * storage read on the hot path. Indexed by capability, since every route starts from one.
 *
 * Loading the initial snapshot races with live changes, so it subscribes first and applies whichever
 * state of a record carries the higher revision (deletions seen meanwhile leave a tombstone).
 *
 * Memory (issue 19): the directory holds one entry per registered service, so at 100,000 services every byte
 * of an entry is 100 KB. It keeps only what routing reads (`RoutedService`), not the whole record: the
 * description, endpoints, timestamps, health check and notes (about half a record's heap) are then garbage
 * once the change feed's window moves past the record. Strings that many records repeat (capabilities, tags,
 * provider, owner, URLs of services behind one endpoint) and equal capability and tag lists are shared through
 * a bounded pool instead of one copy per record.
 */
import { declaredModelNames, type ServiceRecord } from "@kai/protocol";
import type { Change, ChangeFeed } from "../../registry/change-feed.js";
import type { NodeStore } from "../../storage/contracts/node-store.js";

/** The fields of a record that routing, the model catalog and the breaker probes read; nothing else is kept. */
export type RoutedService = Pick<
  ServiceRecord,
  "id" | "owner" | "visibility" | "provider" | "capabilities" | "tags" | "url" | "auth" | "status" | "rateLimit" | "metadata" | "isLocal" | "revision"
> & {
  /**
   * The models the record declares (`metadata.models`, see `declaredModels`), worked out when its routing metadata is
   * first seen and shared with every record whose routing metadata is the same: the model catalog asks for them on
   * every routed request, and working them out per record cost ~1 µs and a set on a bulk load's path.
   */
  readonly models: ReadonlySet<string>;
};

/** A service without declared models (shared: never mutated). */
const NO_MODELS: ReadonlySet<string> = new Set();
/**
 * Declared lists are mostly the same few (every record of one deployment declares the same models), so equal
 * lists share one set. Bounded: once this many distinct lists are known, new ones get a set of their own.
 */
const DECLARED_POOL_LIMIT = 1_000;
const declaredPool = new Map<string, ReadonlySet<string>>();

/** `metadata.models` as a set of names (the protocol's `declaredModelNames`), pooled. */
function declaredModels(metadata: Record<string, unknown>): ReadonlySet<string> {
  const names = declaredModelNames(metadata);
  if (names.length === 0) return NO_MODELS;
  const key = JSON.stringify(names);
  const known = declaredPool.get(key);
  if (known) return known;
  const out: ReadonlySet<string> = new Set(names);
  if (declaredPool.size < DECLARED_POOL_LIMIT) declaredPool.set(key, out);
  return out;
}

/** A record's routing metadata (the keys routing reads) and the models it declares. */
interface RoutingMetadata {
  readonly metadata: Record<string, unknown>;
  readonly models: ReadonlySet<string>;
}

/** What a directory listener hears: the new record, or null when the service was removed. */
export interface DirectoryChange {
  readonly serviceId: string;
  readonly previous: RoutedService | undefined;
  readonly current: RoutedService | null;
}

export type DirectoryListener = (change: DirectoryChange) => void;

const PAGE = 1000;

/**
 * Most distinct strings the pool shares. Values that repeat (a few dozen capabilities, tags like `region=…`,
 * providers, owners) fill it early; once full, strings not yet in it are kept as they are, so unique values
 * (a tag per service, say) cannot grow it without bound. Strings are never removed: a full pool costs ~1 MB.
 */
const POOL_LIMIT = 10_000;

/** Lists pooled per first value at most (see `StringPool.shareList`). */
const LISTS_PER_HEAD = 16;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Shares equal strings between entries (V8 keeps one copy per parsed JSON document otherwise). */
class StringPool {
  private readonly strings = new Map<string, string>();

  share(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    if (this.strings.size < POOL_LIMIT) this.strings.set(value, value);
    return value;
  }

  /**
   * One array for equal lists of strings (the capability and tag lists of a deployment's services mostly
   * repeat). Bounded like the strings. The arrays are shared: nothing in the router may mutate them.
   */
  shareList(values: readonly string[]): string[] {
    // Found by its first value, then compared element by element: no key string built per record (a JSON key cost
    // ~0.7 µs and 100 bytes per list on the bulk path), and two different lists never share.
    const head = values.length === 0 ? "" : values[0]!;
    let bucket = this.lists.get(head);
    if (bucket) {
      for (const list of bucket) if (sameList(list, values)) return list;
    } else if (this.lists.size < POOL_LIMIT) {
      this.lists.set(head, (bucket = []));
    }
    const list = values.map((value) => this.share(value));
    // A bucket holds a few lists: unique lists (a tag per service) stop being pooled instead of making lookups long.
    if (bucket && bucket.length < LISTS_PER_HEAD) bucket.push(list);
    return list;
  }

  /** Pooled lists by their first value (`""` for the empty list). */
  private readonly lists = new Map<string, string[][]>();

  /**
   * One object for equal routing metadata (by its JSON), with its declared models worked out once; bounded like the
   * rest; shared, so never mutated.
   */
  shareMetadata(value: Record<string, unknown>): RoutingMetadata {
    const key = JSON.stringify(value);
    const known = this.metadata.get(key);
    if (known !== undefined) return known;
    const shared: RoutingMetadata = { metadata: value, models: declaredModels(value) };
    if (this.metadata.size < POOL_LIMIT) this.metadata.set(key, shared);
    return shared;
  }

  private readonly metadata = new Map<string, RoutingMetadata>();
}

/**
 * The metadata keys the router reads: `priority`, `weight` and `cost` (strategies.ts), `isLocal` (is-local.ts)
 * and `models` (the model catalog's declared models). Any other metadata (often most of it) stays in storage.
 */
const ROUTING_METADATA = ["priority", "weight", "cost", "isLocal", "models"] as const;
const NO_METADATA: RoutingMetadata = { metadata: {}, models: NO_MODELS };

export class ServiceDirectory {
  private readonly records = new Map<string, RoutedService>();
  private readonly pool = new StringPool();
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

  get(serviceId: string): RoutedService | undefined {
    return this.records.get(serviceId);
  }

  all(): IterableIterator<RoutedService> {
    return this.records.values();
  }

  /** Every record offering `capability`, whatever its status or visibility (the caller filters). */
  withCapability(capability: string): RoutedService[] {
    const ids = this.byCapability.get(capability);
    if (!ids) return [];
    const out: RoutedService[] = [];
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

  /**
   * The routed part of a record. Every entry gets the same fields in the same order (absent ones undefined), so
   * V8 gives them one hidden class and the hot path's property reads stay monomorphic. `auth` and `rateLimit`
   * are the record's own objects (small, read whole); `metadata` keeps only the keys routing reads.
   */
  private routed(record: ServiceRecord): RoutedService {
    const pool = this.pool;
    const routing = this.routingMetadata(record.metadata);
    return {
      id: record.id,
      owner: pool.share(record.owner),
      visibility: pool.share(record.visibility) as ServiceRecord["visibility"],
      provider: record.provider === undefined ? undefined : pool.share(record.provider),
      capabilities: pool.shareList(record.capabilities),
      tags: pool.shareList(record.tags),
      url: record.url === undefined ? undefined : pool.share(record.url),
      auth: record.auth,
      status: record.status,
      rateLimit: record.rateLimit,
      metadata: routing.metadata,
      isLocal: record.isLocal,
      revision: record.revision,
      models: routing.models,
    };
  }

  private routingMetadata(metadata: Record<string, unknown>): RoutingMetadata {
    let out: Record<string, unknown> | undefined;
    for (const key of ROUTING_METADATA) if (Object.hasOwn(metadata, key) && metadata[key] !== undefined) (out ??= {})[key] = metadata[key];
    return out ? this.pool.shareMetadata(out) : NO_METADATA;
  }

  private put(full: ServiceRecord): void {
    const record = this.routed(full);
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

  private unindex(record: RoutedService): void {
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
