/**
 * @module storage/postgres/pg-service-rows
 * Rows of `services` and `events` as `pg` returns them, and the records they hold. `pg` hands out bigint columns
 * as strings (a JavaScript number cannot hold every bigint); every value here is far below 2^53, so they are
 * turned into numbers once, here. The record document itself is the same JSON text SQLite keeps, decoded by the
 * shared codec (storage/sqlite/record-codec.ts), so both backends read and write records identically.
 */
import type { RegistryEvent, ServiceRecord } from "@kai/protocol";
import type { StoredChange } from "../contracts/storage-backend.js";
import { fromRow, parseRecordDoc } from "../sqlite/record-codec.js";

/** `SELECT seq, id, heartbeat_at, revision, doc FROM services`. */
export const SERVICE_COLUMNS = "s.seq, s.id, s.heartbeat_at, s.revision, s.doc";

export interface PgServiceRow {
  seq: string | number;
  id: string;
  heartbeat_at: string | number | null;
  revision: string | number;
  doc: string;
  [column: string]: unknown;
}

/** What a write needs of a stored (or, inside a batch, planned) service row. */
export interface StoredService {
  seq: number;
  revision: number;
  heartbeatAt: number | null;
  doc: string;
}

export function storedOf(row: PgServiceRow): StoredService {
  return { seq: Number(row.seq), revision: Number(row.revision), heartbeatAt: row.heartbeat_at === null ? null : Number(row.heartbeat_at), doc: row.doc };
}

/** The record as a read returns it: its document, its revision, and the live heartbeat column. */
export function recordOf(id: string, stored: StoredService): ServiceRecord {
  return fromRow({ seq: stored.seq, id, heartbeat_at: stored.heartbeatAt, revision: stored.revision, doc: stored.doc });
}

export function recordOfRow(row: PgServiceRow): ServiceRecord {
  return recordOf(row.id, storedOf(row));
}

export interface PgEventRow {
  revision: string | number;
  event: RegistryEvent["event"];
  doc: string;
  previous: string | null;
  [column: string]: unknown;
}

export function eventOfRow(row: PgEventRow): RegistryEvent {
  return { event: row.event, revision: Number(row.revision), service: parseRecordDoc(row.doc) };
}

export function changeOfRow(row: PgEventRow): StoredChange {
  return { event: eventOfRow(row), previous: row.previous === null ? null : parseRecordDoc(row.previous) };
}
