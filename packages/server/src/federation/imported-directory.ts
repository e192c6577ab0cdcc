/**
 * @module federation/imported-directory
 * The records imported from peers, in memory (loaded from the federation store at start, written through
 * by the importer): what `GET /api/services?location=remote`, KLP discovery and the watch stream read.
 * Keyed by (origin, service id): two nodes may each have a service called `ollama`, and both are shown.
 * Every change is announced to listeners (the watch stream) as a remote change.
 */
import { klp, matchesFilter, parseJson, type RegistryEventType, type ServiceFilter, type ServiceRecord } from "@kai/protocol";
import type { ImportedRow } from "../storage/contracts/federation-store.js";
import { InvalidCursorError } from "../storage/contracts/page-cursor.js";
import { importedServiceRecord } from "./statements.js";

export interface ImportedEntry {
  origin: string;
  serviceId: string;
  originRevision: number;
  expiresAt: number;
  statement: klp.RecordStatement;
  /** The statement as JSON text, exactly as stored and as it can be handed on. */
  statementText: string;
  record: ServiceRecord;
}

export interface RemoteChange {
  event: RegistryEventType;
  origin: string;
  serviceId: string;
  /** The new state; for `deregistered`, the last one. */
  record: ServiceRecord;
  /** The state before an update. */
  previous?: ServiceRecord;
}

export type RemoteChangeListener = (change: RemoteChange) => void;

export interface RemotePage {
  services: ServiceRecord[];
  nextCursor: string | null;
}

const keyOf = (origin: string, serviceId: string) => `${serviceId}\n${origin}`;

/** Remote cursors: base64url of the last (id, origin) key. Distinct from local cursors by their `r.` prefix. */
export const REMOTE_CURSOR_PREFIX = "r.";

function encodeRemoteCursor(key: string): string {
  return REMOTE_CURSOR_PREFIX + Buffer.from(key, "utf8").toString("base64url");
}

/** The cursor that starts the remote part of a `location=all` listing from its beginning. */
export const REMOTE_START_CURSOR = REMOTE_CURSOR_PREFIX;

function decodeRemoteCursor(cursor: string): string | undefined {
  if (!cursor.startsWith(REMOTE_CURSOR_PREFIX)) throw new InvalidCursorError();
  const body = cursor.slice(REMOTE_CURSOR_PREFIX.length);
  if (body === "") return undefined;
  const key = Buffer.from(body, "base64url").toString("utf8");
  if (!key.includes("\n") || Buffer.from(key, "utf8").toString("base64url") !== body) throw new InvalidCursorError();
  return key;
}

export function entryFromRow(row: ImportedRow): ImportedEntry | undefined {
  const json = parseJson(row.statement);
  const parsed = json.ok ? klp.RecordStatementSchema.safeParse(json.value) : undefined;
  if (!parsed?.success) return undefined;
  return {
    origin: row.origin,
    serviceId: row.serviceId,
    originRevision: row.originRevision,
    expiresAt: row.expiresAt,
    statement: parsed.data,
    statementText: row.statement,
    record: importedServiceRecord(parsed.data),
  };
}

export class ImportedDirectory {
  private readonly entries = new Map<string, ImportedEntry>();
  /** Entries per origin, kept with every put and remove: peer listings and metrics read it per scrape. */
  private readonly perOrigin = new Map<string, number>();
  private sortedKeys: string[] | null = null;
  private readonly listeners = new Set<RemoteChangeListener>();

  get size(): number {
    return this.entries.size;
  }

  get(origin: string, serviceId: string): ImportedEntry | undefined {
    return this.entries.get(keyOf(origin, serviceId));
  }

  countFrom(origin: string): number {
    return this.perOrigin.get(origin) ?? 0;
  }

  /** Puts an entry (new or newer); `announce` false while loading from storage at start. */
  put(entry: ImportedEntry, announce = true): void {
    const key = keyOf(entry.origin, entry.serviceId);
    const existing = this.entries.get(key);
    this.entries.set(key, entry);
    if (!existing) {
      this.sortedKeys = null;
      this.perOrigin.set(entry.origin, this.countFrom(entry.origin) + 1);
    }
    // A refresh (same origin revision, new expiry) is not a change anyone watches.
    if (!announce || existing?.originRevision === entry.originRevision) return;
    this.emit({
      event: existing ? "updated" : "registered",
      origin: entry.origin,
      serviceId: entry.serviceId,
      record: entry.record,
      ...(existing ? { previous: existing.record } : {}),
    });
  }

  remove(origin: string, serviceId: string): ImportedEntry | undefined {
    const key = keyOf(origin, serviceId);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.sortedKeys = null;
    const left = this.countFrom(origin) - 1;
    if (left > 0) this.perOrigin.set(origin, left);
    else this.perOrigin.delete(origin);
    this.emit({ event: "deregistered", origin, serviceId, record: entry.record });
    return entry;
  }

  /** Every entry from `origin` (for a peer's removal and snapshot sweeps). */
  entriesFrom(origin: string): ImportedEntry[] {
    return [...this.entries.values()].filter((entry) => entry.origin === origin);
  }

  /** The peers this node holds a record `serviceId` from (the same id may come from several origins). */
  originsOf(serviceId: string): string[] {
    return [...this.entries.values()].filter((entry) => entry.serviceId === serviceId).map((entry) => entry.origin);
  }

  /** Entries whose statement ran out at `nowMs`. */
  expired(nowMs: number): ImportedEntry[] {
    return [...this.entries.values()].filter((entry) => entry.expiresAt <= nowMs);
  }

  /** Matching records ordered by (id, origin), one page at a time. */
  query(filter: ServiceFilter, limit: number, cursor?: string): RemotePage {
    const after = cursor !== undefined ? decodeRemoteCursor(cursor) : undefined;
    const keys = this.sorted();
    let start = 0;
    if (after !== undefined) {
      // Binary search for the first key after the cursor: pages stay cheap however many records there are.
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (keys[mid]! <= after) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    const services: ServiceRecord[] = [];
    let lastKey: string | undefined;
    for (let i = start; i < keys.length; i++) {
      const entry = this.entries.get(keys[i]!)!;
      if (!matchesFilter(entry.record, filter)) continue;
      if (services.length === limit) return { services, nextCursor: encodeRemoteCursor(lastKey!) };
      services.push(entry.record);
      lastKey = keys[i];
    }
    return { services, nextCursor: null };
  }

  subscribe(listener: RemoteChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private sorted(): string[] {
    this.sortedKeys ??= [...this.entries.keys()].sort();
    return this.sortedKeys;
  }

  private emit(change: RemoteChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A failing listener (a closed socket) must not stop the others or the import.
      }
    }
  }
}
