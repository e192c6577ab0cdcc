/**
 * @module storage/sqlite/record-codec
 * Turns a service record into the column values of `services` and back. The record itself is kept as
 * JSON in `doc`; `heartbeat` and `revision` come from their own columns, because heartbeats are saved
 * without rewriting the document and the revision is assigned by the store.
 */
import { parseJson, type ServiceRecord } from "@kai/protocol";
import type { ServiceDraft } from "../store.js";

/** Separates fields in the search column; a control character no identifier or tag can hold. */
const SEARCH_SEPARATOR = "\u001f";

export interface ServiceRow {
  id: string;
  heartbeat_at: number | null;
  revision: number;
  doc: string;
}

export interface ServiceColumns {
  id: string;
  owner: string;
  visibility: string;
  type: string;
  provider: string | null;
  status: string;
  ttl: number | null;
  heartbeat_at: number | null;
  updated_at: number;
  revision: number;
  search: string;
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

export function toColumns(record: ServiceDraft, revision: number): ServiceColumns {
  return {
    id: record.id,
    owner: record.owner,
    visibility: record.visibility,
    type: record.type,
    provider: record.provider ?? null,
    status: record.status,
    ttl: record.ttl ?? null,
    heartbeat_at: timeMs(record.heartbeat),
    updated_at: timeMs(record.updatedAt) ?? 0,
    revision,
    search: searchText(record),
    doc: JSON.stringify(record),
  };
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
