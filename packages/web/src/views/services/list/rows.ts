/**
 * @module views/services/list/rows
 * What the table shows: the pages read from the node, corrected by what the stream has said since (a change
 * replaces the older state of its record, a removal hides it), plus services the stream announced that no
 * loaded page holds yet (new registrations, shown first and marked new so they are seen at once even among
 * 100,000). The node sorts the pages (`sort`/`order`); a record a live change altered is placed again with
 * `compareServices`, the node's own comparison, so it sits where the node's next read would put it. Pure
 * functions, so the rules hold whatever the rendering does.
 */
import { compareServices, type ServiceRecord } from "@kai/protocol";
import type { SortState } from "./filters";

/** What the stream said about one record since the first page was read. */
export interface LiveChange {
  /** The new state; undefined when it left the view (deregistered, hidden, no longer matching the filter). */
  record: ServiceRecord | undefined;
  /** The record revision this change is at (Infinity when the stream gives none: the record is gone for us). */
  revision: number;
  /** It was registered after the pages were read (it belongs at the end of the node's order). */
  registered: boolean;
  /** Arrival order, to show the newest first. */
  sequence: number;
}

export interface Row {
  key: string;
  service: ServiceRecord;
  /** Announced by the stream and on no loaded page. */
  fresh: boolean;
}

/** The key of a record in the list: its id, or `id@origin` for an imported one (the SDK's viewKey). */
export function rowKey(service: Pick<ServiceRecord, "id" | "origin">): string {
  return service.origin === undefined ? service.id : `${service.id}@${service.origin}`;
}

/**
 * Merges the loaded pages with the live changes. `complete`: every page is loaded, so any record the stream
 * brings into view belongs in the list (a status change into a status filter, say), not only new ones.
 */
export function mergeRows(pages: readonly ServiceRecord[], changes: ReadonlyMap<string, LiveChange>, complete: boolean): Row[] {
  const onPages = new Set<string>();
  const rows: Row[] = [];
  for (const service of pages) {
    const key = rowKey(service);
    if (onPages.has(key)) continue;
    onPages.add(key);
    const change = changes.get(key);
    if (change === undefined || change.revision < service.revision) rows.push({ key, service, fresh: false });
    else if (change.record !== undefined) rows.push({ key, service: change.record, fresh: false });
  }
  const fresh: Row[] = [];
  const arrivals = [...changes.entries()].filter(([key, change]) => !onPages.has(key) && change.record !== undefined && (change.registered || complete));
  arrivals.sort(([, a], [, b]) => b.sequence - a.sequence);
  for (const [key, change] of arrivals) fresh.push({ key, service: change.record as ServiceRecord, fresh: true });
  return [...fresh, ...rows];
}

/**
 * Orders merged rows for the sort the pages were read with. New registrations stay first (newest first, marked
 * new); the rest are in the node's order already, except records a live change altered: a stable sort by
 * `compareServices` moves those and keeps ties in the node's order (which is its registration tie-break).
 */
export function sortRows(rows: readonly Row[], sort: SortState): Row[] {
  if (sort.key === "registered") return [...rows];
  const order = sort.descending ? "desc" : "asc";
  const fresh = rows.filter((row) => row.fresh);
  const listed = rows.filter((row) => !row.fresh).sort((a, b) => compareServices(a.service, b.service, sort.key, order));
  return [...fresh, ...listed];
}

/**
 * Orders a complete set that has no node order (the stream's snapshot): by `compareServices`, ties by key; in
 * registration order the set's own order (the node's snapshot order), reversed for descending.
 */
export function sortAll(rows: readonly Row[], sort: SortState): Row[] {
  if (sort.key === "registered") return sort.descending ? [...rows].reverse() : [...rows];
  const order = sort.descending ? "desc" : "asc";
  return [...rows].sort((a, b) => compareServices(a.service, b.service, sort.key, order) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
