/**
 * @module storage/store
 * The storage contract. The registry, auth and (later) vault and federation talk to storage only
 * through this interface, so that a backend (SQLite today, PostgreSQL next) is one folder that passes
 * the conformance suite in `test/storage/store-contract.ts`.
 *
 * Rules every backend keeps:
 * - Every change to a service is one atomic write of the record *and* its event, under one new global
 *   revision (strictly increasing, never reused, even after events are compacted).
 * - A write is acknowledged (its promise resolves) only once it is durable per the backend's mode.
 * - Heartbeat timestamps are saved without a new revision: they are not changes anyone watches.
 */
import type { RegistryEvent, RegistryEventType, ServiceFilter, ServiceRecord, Scope } from "@kai/protocol";

/** Who is asking: decides which records a query may return. */
export interface Viewer {
  owner: string;
  /** Admins see every record. */
  admin: boolean;
}

/**
 * The visibility rule every backend's `listServices`/`countServices` applies and the registry enforces:
 * admins see everything, owners see their own, everyone else sees `public` and `internal` records.
 */
export function canSee(viewer: Viewer, record: Pick<ServiceRecord, "owner" | "visibility">): boolean {
  return viewer.admin || record.owner === viewer.owner || record.visibility !== "private";
}

export interface ServiceQuery {
  filter: ServiceFilter;
  viewer: Viewer;
  /** Page size, 1..1000. */
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
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
}

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

/** Thrown by `writeService`/`deleteService` when `expectedRevision` does not match. */
export class RevisionConflict extends Error {
  constructor(
    readonly serviceId: string,
    readonly actualRevision: number,
  ) {
    super(`service ${serviceId} is at revision ${actualRevision}`);
    this.name = "RevisionConflict";
  }
}

/** Thrown by `listServices` for a cursor this store did not issue (the API answers 400). */
export class InvalidCursorError extends Error {
  constructor() {
    super("invalid cursor");
    this.name = "InvalidCursorError";
  }
}

export interface RegistryStore {
  /** Human-readable backend name and mode, e.g. `sqlite (WAL, synchronous=FULL)`. */
  readonly description: string;

  /** Writes the record and appends its event atomically; resolves with the event once durable. */
  writeService(write: ServiceWrite): Promise<RegistryEvent>;
  /** Applies several writes in one transaction (one revision each, in order). */
  writeServices(writes: ServiceWrite[]): Promise<RegistryEvent[]>;
  /** Deletes the record and appends a `deregistered` event carrying its last state; null if absent. */
  deleteService(id: string, expectedRevision?: number): Promise<RegistryEvent | null>;

  getService(id: string): Promise<ServiceRecord | null>;
  /**
   * Records matching the filter that the viewer may see, one page at a time, in registration order: by the
   * revision that created each record (an update keeps the place; deleting and registering again moves the
   * record to the end). Cursors are `page-cursor.ts`'s, so a record registered while a client pages is never
   * skipped.
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

  /** Every record that has a ttl, for the lease monitor. */
  listLeases(): Promise<LeaseRow[]>;
  /** Saves heartbeat times (ms since epoch) without a new revision or event. */
  saveHeartbeats(beats: ReadonlyArray<{ id: string; at: number }>): Promise<void>;

  insertToken(token: TokenRow): Promise<void>;
  getToken(id: string): Promise<TokenRow | null>;
  listTokens(): Promise<TokenRow[]>;
  /** Marks a token revoked; false when it does not exist. */
  revokeToken(id: string, at: string): Promise<boolean>;

  /** Small key/value settings of the node (e.g. when it last ran). */
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;

  /** Flushes and closes; later calls reject. */
  close(): Promise<void>;
}
