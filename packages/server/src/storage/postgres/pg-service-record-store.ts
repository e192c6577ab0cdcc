/**
 * @module storage/postgres/pg-service-record-store
 * The PostgreSQL backend of `ServiceRecordStore`, plus the change log with previous records that instances sharing
 * the database follow (`changesSince`). Writes go through the group-commit batcher (pg-service-batcher.ts), which
 * assigns revisions under the one revision-counter lock; reads are single statements on the pool, so they see every
 * write committed by any instance. Nothing is cached in this process: another instance may have written since.
 */
import { SERVICE_STATUSES, type RegistryEvent, type ServiceRecord } from "@kai/protocol";
import type { ServiceChange, ServiceDecision, ServiceDelete, ServicePage, ServiceQuery, ServiceRecordStore, ServiceWrite } from "../contracts/node-store.js";
import type { StoredChange } from "../contracts/storage-backend.js";
import type { Viewer } from "../contracts/viewer.js";
import { decodeListCursor, encodeListCursor, orderOf, type ListingOrder } from "../contracts/page-cursor.js";
import type { PgDatabase } from "./pg-database.js";
import { PgServiceBatcher } from "./pg-service-batcher.js";
import { buildListQuery, visibilityClause } from "./pg-service-query.js";
import { changeOfRow, eventOfRow, recordOfRow, type PgEventRow, type PgServiceRow } from "./pg-service-rows.js";

const GET_SERVICE = { name: "kai_get_service", text: "SELECT seq, id, heartbeat_at, revision, doc FROM services WHERE id = $1" };
const GET_SERVICES = { name: "kai_get_services", text: "SELECT seq, id, heartbeat_at, revision, doc FROM services WHERE id = ANY($1::text[])" };
const CURRENT_REVISION = { name: "kai_current_revision", text: "SELECT value FROM store_state WHERE key = 'revision'" };
/**
 * The compaction mark and the page of events in ONE statement, so both come from one snapshot: read apart, a
 * compaction between them could drop events after the mark was found clear, and the page would have a gap.
 */
const EVENTS_AFTER = {
  name: "kai_events_after",
  text: `SELECT c.value AS compacted_through, e.revision, e.event, e.doc, e.previous
         FROM store_state c
         LEFT JOIN LATERAL (SELECT revision, event, doc, previous FROM events WHERE revision > $1 ORDER BY revision LIMIT $2) e ON true
         WHERE c.key = 'events_compacted_through'
         ORDER BY e.revision`,
};

interface EventsAfterRow extends PgEventRow {
  compacted_through: string;
}

/**
 * The database's sort value of a listed row, for the next cursor: `pg` hands bigint (`updated_at`) out as a
 * string, so that one becomes a number; text stays exactly as PostgreSQL computed it.
 */
function sortValueOf(listing: ListingOrder, row: PgServiceRow): string | number | null {
  const { sort } = orderOf(listing);
  if (sort === "registered") return null;
  const value = row.sort_value;
  return sort === "updated" ? Number(value) : String(value);
}

export class PgServiceRecordStore implements ServiceRecordStore {
  private readonly batcher: PgServiceBatcher;

  constructor(private readonly db: PgDatabase) {
    this.batcher = new PgServiceBatcher(db);
  }

  /** Commits what was queued before the store closed. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }

  // ---- writes ----

  writeService(write: ServiceWrite): Promise<RegistryEvent> {
    return this.batcher.enqueue({ kind: "write", write }) as Promise<RegistryEvent>;
  }

  async writeServices(writes: ServiceWrite[]): Promise<RegistryEvent[]> {
    if (writes.length === 0) {
      this.db.assertOpen();
      return [];
    }
    return this.batcher.enqueue({ kind: "writes", writes }) as Promise<RegistryEvent[]>;
  }

  /** No read of its own: the batch decides against the row it reads under the revision-counter lock anyway. */
  changeService(id: string, decide: ServiceDecision): Promise<ServiceChange> {
    return this.batcher.enqueue({ kind: "change", id, decide }) as Promise<ServiceChange>;
  }

  deleteService(id: string, expectedRevision?: number): Promise<RegistryEvent | null> {
    return this.batcher.enqueue({ kind: "delete", id, expectedRevision }) as Promise<RegistryEvent | null>;
  }

  /** One batch entry: planned as a whole under the counter lock, refused as a whole (nothing written) on a conflict. */
  async deleteServices(deletes: readonly ServiceDelete[]): Promise<Array<RegistryEvent | null>> {
    if (deletes.length === 0) {
      this.db.assertOpen();
      return [];
    }
    return this.batcher.enqueue({ kind: "deletes", deletes }) as Promise<Array<RegistryEvent | null>>;
  }

  // ---- reads ----

  async getService(id: string): Promise<ServiceRecord | null> {
    const rows = await this.db.query<PgServiceRow>({ ...GET_SERVICE, values: [id] });
    return rows[0] ? recordOfRow(rows[0]) : null;
  }

  /** One statement for the whole batch (a round trip per id would dominate a bulk registration). */
  async getServices(ids: readonly string[]): Promise<Array<ServiceRecord | null>> {
    if (ids.length === 0) return [];
    const rows = await this.db.query<PgServiceRow>({ ...GET_SERVICES, values: [[...ids]] });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => {
      const row = byId.get(id);
      return row ? recordOfRow(row) : null;
    });
  }

  async listServices(query: ServiceQuery): Promise<ServicePage> {
    this.db.assertOpen();
    const limit = Math.max(1, Math.min(1000, Math.trunc(query.limit)));
    const after = query.cursor !== undefined ? decodeListCursor(query.cursor, query) : null;
    // One row more than asked tells whether another page exists, so the last page has nextCursor null.
    const built = buildListQuery(query.filter, query.viewer, after, limit + 1, query);
    const rows = await this.db.query<PgServiceRow>(built.text, built.values);
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return { services: page.map(recordOfRow), nextCursor: more && last ? encodeListCursor(query, sortValueOf(query, last), Number(last.seq)) : null };
  }

  async countServices(viewer: Viewer): Promise<Record<ServiceRecord["status"], number>> {
    const values: unknown[] = [];
    const visible = visibilityClause(viewer, (value) => {
      values.push(value);
      return `$${values.length}`;
    });
    const rows = await this.db.query<{ status: string; n: string }>(
      `SELECT s.status, count(*) AS n FROM services s${visible ? ` WHERE ${visible}` : ""} GROUP BY s.status`,
      values,
    );
    const counts = Object.fromEntries(SERVICE_STATUSES.map((status) => [status, 0])) as Record<ServiceRecord["status"], number>;
    for (const row of rows) if (row.status in counts) counts[row.status as ServiceRecord["status"]] = Number(row.n);
    return counts;
  }

  // ---- the change log ----

  async currentRevision(): Promise<number> {
    const rows = await this.db.query<{ value: string }>(CURRENT_REVISION);
    return Number(rows[0]?.value ?? 0);
  }

  /**
   * As SQLite's: `afterRevision` below the compaction mark means an event the caller needs is gone ("compacted");
   * otherwise every later event is still kept (revisions have no gaps and commit in order), so the page is complete.
   */
  async eventsSince(afterRevision: number, limit: number): Promise<RegistryEvent[] | "compacted"> {
    const rows = await this.readEvents(afterRevision, limit);
    return rows === "compacted" ? rows : rows.map(eventOfRow);
  }

  async changesSince(afterRevision: number, limit: number): Promise<StoredChange[] | "compacted"> {
    const rows = await this.readEvents(afterRevision, limit);
    return rows === "compacted" ? rows : rows.map(changeOfRow);
  }

  private async readEvents(afterRevision: number, limit: number): Promise<PgEventRow[] | "compacted"> {
    const after = Math.max(0, Math.trunc(afterRevision));
    const rows = await this.db.query<EventsAfterRow>({ ...EVENTS_AFTER, values: [after, Math.max(0, Math.trunc(limit))] });
    const through = Number(rows[0]?.compacted_through ?? 0);
    if (afterRevision < through) return "compacted";
    return rows.filter((row) => row.revision !== null);
  }

  /** Drops all but the newest `keep` events, under the counter lock so no write commits in between. */
  async compactEvents(keep: number): Promise<void> {
    await this.db.transaction(async (client) => {
      const counter = await client.query<{ value: string }>("SELECT value FROM store_state WHERE key = 'revision' FOR UPDATE");
      const through = Number(counter.rows[0]?.value ?? 0) - Math.max(0, Math.trunc(keep));
      const mark = await client.query<{ value: string }>("SELECT value FROM store_state WHERE key = 'events_compacted_through'");
      if (through <= Number(mark.rows[0]?.value ?? 0)) return;
      await client.query("DELETE FROM events WHERE revision <= $1", [through]);
      await client.query("UPDATE store_state SET value = $1 WHERE key = 'events_compacted_through'", [through]);
    });
  }
}
