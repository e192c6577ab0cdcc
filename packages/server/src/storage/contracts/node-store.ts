/**
 * @module storage/contracts/node-store
 * The node's storage contract: what this node itself owns. `NodeStore` is made of four parts, each its own
 * interface, so a module that needs one part can say so: the service records with their event log, the
 * leases (heartbeat times), the API tokens, and the node's settings. A backend (SQLite today, PostgreSQL
 * next) implements all of them and passes the conformance suite in `test/storage/node-store-contract.ts`;
 * the vault's and federation's contracts sit beside this file, and `storage-backend.ts` joins the three.
 *
 * Rules every backend keeps:
 * - Every change to a service is one atomic write of the record *and* its event, under one new global
 *   revision (strictly increasing, never reused, even after events are compacted).
 * - A write is acknowledged (its promise resolves) only once it is durable per the backend's mode.
 * - Heartbeat timestamps are saved without a new revision: they are not changes anyone watches.
 * - Every read hands out records of its own: the registry sets `health` and the live heartbeat on them in place.
 */
import type { RegistryEvent, RegistryEventType, ServiceFilter, ServiceRecord, ServiceSort, Scope, SortOrder } from "@kai/protocol";
import type { Viewer } from "./viewer.js";

// ---- service records and their events ----

export interface ServiceQuery {
  filter: ServiceFilter;
  viewer: Viewer;
  /** Page size, 1..1000. */
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor` (of a listing with the same sort and order). */
  cursor?: string;
  /** The listing's order (page-cursor.ts); absent: registration order. */
  sort?: ServiceSort | undefined;
  /** Absent: ascending. */
  order?: SortOrder | undefined;
}

export interface ServicePage {
  services: ServiceRecord[];
  nextCursor: string | null;
}

/** A record about to be written. The store assigns `revision`. */
export type ServiceDraft = Omit<ServiceRecord, "revision">;

export interface ServiceWrite {
  event: Exclude<RegistryEventType, "deregistered">;
  record: ServiceDraft;
  /** Write only if the stored record is at this revision (0 = must not exist). Else `RevisionConflict`. */
  expectedRevision?: number;
  /**
   * The caller hands `record` over (a draft it built for this write and keeps no use for): a store may set its
   * `revision` in place and return it as the event's record instead of a copy. Why: a bulk registration writes a
   * thousand records per request, and the copies were ~1 KB of garbage each (issue 19). A store may ignore it.
   */
  handOver?: boolean;
}

/**
 * How `changeService` changes one record, decided from the record as stored (null when absent): the write to make
 * (for the same id; its `expectedRevision` is ignored: the store writes against the record it passed), or null to
 * leave it as it is. It must be synchronous and without effects (a backend may call it more than once, e.g. when
 * it runs a transaction again); throwing refuses the change and rejects `changeService` with that error.
 */
export type ServiceDecision = (existing: ServiceRecord | null) => Omit<ServiceWrite, "expectedRevision"> | null;

/** What `changeService` did: the record it decided on (null when absent) and the event written (null if none). */
export interface ServiceChange {
  previous: ServiceRecord | null;
  event: RegistryEvent | null;
}

/** One record `deleteServices` removes: only if it is still at `expectedRevision`, when given. */
export interface ServiceDelete {
  id: string;
  expectedRevision?: number;
}

/** Thrown by `writeService`/`deleteService`/`deleteServices` when `expectedRevision` does not match. */
export class RevisionConflict extends Error {
  constructor(
    readonly serviceId: string,
    readonly actualRevision: number,
  ) {
    super(`service ${serviceId} is at revision ${actualRevision}`);
    this.name = "RevisionConflict";
  }
}

/**
 * The registry's records and the event log of their changes. One interface, because one write changes
 * both: the record and its event land together under one revision.
 */
export interface ServiceRecordStore {
  /** Writes the record and appends its event atomically; resolves with the event once durable. */
  writeService(write: ServiceWrite): Promise<RegistryEvent>;
  /** Applies several writes in one transaction (one revision each, in order). */
  writeServices(writes: ServiceWrite[]): Promise<RegistryEvent[]>;
  /**
   * Reads the record and writes what `decide` makes of it, as one step: the write lands only if the record is still
   * the one `decide` saw, else `RevisionConflict` (a backend that decides under its write lock never conflicts).
   * The registry registers this way, so a backend whose reads are round trips can fold the read into its write.
   */
  changeService(id: string, decide: ServiceDecision): Promise<ServiceChange>;
  /** Deletes the record and appends a `deregistered` event carrying its last state; null if absent. */
  deleteService(id: string, expectedRevision?: number): Promise<RegistryEvent | null>;
  /**
   * `deleteService` for several records in ONE transaction, all or nothing: one `RevisionConflict` rejects the call
   * and nothing is deleted. One answer per entry, in order: its `deregistered` event (one revision each, in order),
   * or null where the record is absent (an id named again after its delete is absent by then).
   */
  deleteServices(deletes: readonly ServiceDelete[]): Promise<Array<RegistryEvent | null>>;

  getService(id: string): Promise<ServiceRecord | null>;
  /**
   * The records of `ids`, in the same order, null where absent: one read for a batch (bulk registration), where
   * `getService` per id would cost a round trip each on a backend whose reads are round trips.
   */
  getServices(ids: readonly string[]): Promise<Array<ServiceRecord | null>>;
  /**
   * Records matching the filter that the viewer may see (`canSee` in viewer.ts), one page at a time, by default in
   * registration order: by the revision that created each record (an update keeps the place; deleting and
   * registering again moves the record to the end). With `sort`/`order`, by that key (`serviceSortValue` in
   * @kai/protocol) and ties by registration position, both in that direction. Cursors are `page-cursor.ts`'s
   * (keyset), so a record added while a client pages is never skipped when it sorts after the cursor; a cursor
   * this store did not issue, or issued for another sort or order, throws `InvalidCursorError`.
   */
  listServices(query: ServiceQuery): Promise<ServicePage>;
  /** Number of records the viewer may see, by status. */
  countServices(viewer: Viewer): Promise<Record<ServiceRecord["status"], number>>;

  /** The revision of the latest change (0 for an empty registry). */
  currentRevision(): Promise<number>;
  /**
   * Events with revision > `afterRevision`, oldest first, at most `limit`. Returns `"compacted"` when
   * events after `afterRevision` are no longer retained (the caller must take a snapshot instead).
   */
  eventsSince(afterRevision: number, limit: number): Promise<RegistryEvent[] | "compacted">;
  /** Drops events so that at most `keep` of the newest remain. */
  compactEvents(keep: number): Promise<void>;
}

// ---- leases ----

export interface LeaseRow {
  id: string;
  ttl: number;
  /** Last heartbeat, ms since epoch; null when never received. */
  heartbeatAt: number | null;
  status: ServiceRecord["status"];
  owner: string;
  visibility: ServiceRecord["visibility"];
  /** The record's revision (the lease monitor writes status changes conditionally on it). */
  revision: number;
  updatedAt: number;
}

/** The leases of service records that have a ttl: what the lease monitor reads and the heartbeats it saves. */
export interface LeaseStore {
  /** Every record that has a ttl, for the lease monitor. */
  listLeases(): Promise<LeaseRow[]>;
  /** Saves heartbeat times (ms since epoch) without a new revision or event; a time never moves backwards. */
  saveHeartbeats(beats: ReadonlyArray<{ id: string; at: number }>): Promise<void>;
}

// ---- tokens ----

export interface TokenRow {
  id: string;
  owner: string;
  scopes: Scope[];
  name?: string;
  /** Vault secret-name patterns the token is limited to. */
  secrets?: string[];
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/** The API tokens this node issued, kept so they can be listed and revoked (the signed token itself is never stored). */
export interface TokenStore {
  insertToken(token: TokenRow): Promise<void>;
  getToken(id: string): Promise<TokenRow | null>;
  listTokens(): Promise<TokenRow[]>;
  /** Marks a token revoked; false when it does not exist. */
  revokeToken(id: string, at: string): Promise<boolean>;
}

// ---- node settings ----

/** Small key/value settings of the node (e.g. its registry epoch, when it last ran). */
export interface NodeSettingsStore {
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  /**
   * Sets `key` to `value` only if it has no value yet, atomically, and returns the value now stored: `value`
   * when this call set it, else the one set before (the winner's). Two instances starting at once on one
   * database agree through it on one value (the registry epoch, the node key).
   */
  claimMeta(key: string, value: string): Promise<string>;
}

// ---- the whole ----

export interface NodeStore extends ServiceRecordStore, LeaseStore, TokenStore, NodeSettingsStore {
  /** Human-readable backend name and mode, e.g. `sqlite (WAL, synchronous=FULL)`. */
  readonly description: string;
  /** Flushes and closes; later calls reject. */
  close(): Promise<void>;
}
