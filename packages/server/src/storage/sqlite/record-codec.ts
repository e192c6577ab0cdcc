/**
 * @module storage/sqlite/record-codec
 * Turns a service record into the column values of `services` and back. The record itself is kept as
 * JSON in `doc`; `heartbeat` and `revision` come from their own columns, because heartbeats are saved
 * without rewriting the document and the revision is assigned by the store.
 */
import { parseJson, type ServiceRecord } from "@kai/protocol";
import type { ServiceDraft } from "../contracts/node-store.js";

/** Separates fields in the search column; a control character no identifier or tag can hold. */
const SEARCH_SEPARATOR = "\u001f";

export interface ServiceRow {
  /** The record's place in listing order (the revision that created it). */
  seq: number;
  id: string;
  heartbeat_at: number | null;
  revision: number;
  doc: string;
}

/**
 * The lower-cased text `q` searches: id, name, description, provider, tags, capabilities. Lower-casing
 * here (JavaScript's full Unicode rules) and in `searchNeedle` keeps the match identical to `matchesFilter`.
 */
export function searchText(record: ServiceDraft): string {
  return [record.id, record.name, record.description, record.provider ?? "", ...record.tags, ...record.capabilities]
    .join(SEARCH_SEPARATOR)
    .toLowerCase();
}

export function searchNeedle(q: string): string {
  return q.toLowerCase();
}

function timeMs(iso: string | null): number | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** The stored document of a record: its JSON, without `revision` (the column holds that). */
export function encodeRecordDoc(record: ServiceDraft): string {
  return JSON.stringify(record);
}

/**
 * The event document of `record` at `revision`, i.e. `JSON.stringify({ ...record, revision })`, made from
 * the record's document instead of encoding the 600-byte record a second time: spreading appends
 * `revision` as the last key, so the JSON is the document with that key added before the closing brace.
 */
export function eventDocOf(record: ServiceDraft, doc: string, revision: number): string {
  if (!eventDocIsRowDoc(record, doc)) return JSON.stringify({ ...record, revision });
  return docWithRevision(doc, revision);
}

/** A stored document (an object's JSON) with `"revision":<revision>` added as its last member. */
export function docWithRevision(doc: string, revision: number): string {
  return `${doc.slice(0, -1)},"revision":${revision}}`;
}

/**
 * True when the event document is the stored document with `revision` appended (the `insertEventOfService`
 * statement builds it so in SQLite). Not so for a record that carries a `revision` of its own (spreading would keep
 * it in its original place: encoded in full) or an empty document.
 */
export function eventDocIsRowDoc(record: ServiceDraft, doc: string): boolean {
  // charCodeAt, not endsWith: no flattening or allocation on the bulk path.
  return !Object.hasOwn(record, "revision") && doc.length > 2 && doc.charCodeAt(doc.length - 1) === 0x7d;
}

/**
 * The `services` row of a record, as the positional parameters of `insertService` (write-statements.ts):
 * seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc.
 */
export function serviceColumns(record: ServiceDraft, seq: number, revision: number, doc: string): Array<string | number | null> {
  return [
    seq,
    record.id,
    record.owner,
    record.visibility,
    record.type,
    record.provider ?? null,
    record.status,
    record.ttl ?? null,
    timeMs(record.heartbeat),
    timeMs(record.updatedAt) ?? 0,
    revision,
    searchText(record),
    doc,
  ];
}

/** The parameters of `updateService` (write-statements.ts): the row's columns after seq and id, then seq and id. */
export function serviceUpdateColumns(record: ServiceDraft, seq: number, revision: number, doc: string): Array<string | number | null> {
  const columns = serviceColumns(record, seq, revision, doc);
  return [...columns.slice(2), seq, record.id];
}

/**
 * Parses a stored document (`revision` overrides the document's own, which service rows do not hold).
 * Why no full schema parse here: the store writes only records the registry built from schema-validated
 * input, and a zod parse costs ~20 µs per record, i.e. ~2 ms of a 100-record page whose budget is 5 ms.
 * A structural check still turns a damaged or foreign file into an error instead of a malformed record.
 */
export function parseRecordDoc(doc: string, revision?: number): ServiceRecord {
  const json = parseJson(doc);
  if (!json.ok) throw new Error(`stored service document is not JSON: ${json.error}`);
  const value = json.value as Partial<ServiceRecord> | null;
  if (value === null || typeof value !== "object" || typeof value.id !== "string" || !Array.isArray(value.tags) || !Array.isArray(value.capabilities)) {
    throw new Error("stored service document is not a service record");
  }
  const record = value as ServiceRecord;
  if (revision !== undefined) record.revision = revision;
  return record;
}

export function fromRow(row: ServiceRow): ServiceRecord {
  const record = parseRecordDoc(row.doc, row.revision);
  // Keep the document's own string when it names the same instant (it may carry a time-zone offset).
  const docMs = timeMs(record.heartbeat);
  if (row.heartbeat_at !== docMs) record.heartbeat = row.heartbeat_at === null ? null : new Date(row.heartbeat_at).toISOString();
  return record;
}
