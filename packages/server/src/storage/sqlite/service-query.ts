/**
 * @module storage/sqlite/service-query
 * Builds the SQL of a filtered listing. The shape is chosen for the 100k-service target: when the filter
 * names a capability (or else a tag), the query is driven from that value's index entries, which are
 * sorted by `seq` (the listing order), so it walks them in page order and stops after `limit` hits; every
 * other tag or capability is an EXISTS probe keyed on the driver's `seq`, so SQLite runs it on the index entry
 * and reads the (wide) services row only for candidates that passed. `CROSS JOIN` pins that join order.
 */
import type { ServiceFilter } from "@kai/protocol";
import type { Viewer } from "../contracts/viewer.js";
import { searchNeedle } from "./record-codec.js";

export interface BuiltQuery {
  sql: string;
  params: Array<string | number>;
}

const unique = (values: readonly string[] | undefined): string[] => [...new Set(values ?? [])];

/** SQL that, for `viewer`, restricts `services AS s` to the records it may see (null: no restriction). */
export function visibilityClause(viewer: Viewer): BuiltQuery | null {
  if (viewer.admin) return null;
  return { sql: "(s.visibility <> 'private' OR s.owner = ?)", params: [viewer.owner] };
}

/**
 * `SELECT s.seq, s.id, s.heartbeat_at, s.revision, s.doc` of the records matching `filter` that `viewer` may
 * see, with seq > `afterSeq`, in seq (registration) order, at most `limit` rows.
 */
export function buildListQuery(filter: ServiceFilter, viewer: Viewer, afterSeq: number | null, limit: number): BuiltQuery {
  const where: string[] = [];
  const params: Array<string | number> = [];
  const capabilities = unique(filter.capability);
  const tags = unique(filter.tag);

  let from = "services s";
  let seqColumn = "s.seq";
  const driver = capabilities.shift() ?? null;
  const tagDriver = driver === null ? (tags.shift() ?? null) : null;
  if (driver !== null) {
    from = "service_capabilities d CROSS JOIN services s ON s.seq = d.seq";
    seqColumn = "d.seq";
    where.push("d.capability = ?");
    params.push(driver);
  } else if (tagDriver !== null) {
    from = "service_tags d CROSS JOIN services s ON s.seq = d.seq";
    seqColumn = "d.seq";
    where.push("d.tag = ?");
    params.push(tagDriver);
  }
  if (afterSeq !== null) {
    where.push(`${seqColumn} > ?`);
    params.push(afterSeq);
  }
  for (const capability of capabilities) {
    where.push(`EXISTS (SELECT 1 FROM service_capabilities c WHERE c.capability = ? AND c.seq = ${seqColumn})`);
    params.push(capability);
  }
  for (const tag of tags) {
    where.push(`EXISTS (SELECT 1 FROM service_tags t WHERE t.tag = ? AND t.seq = ${seqColumn})`);
    params.push(tag);
  }
  const anyOf = (column: string, values: readonly string[] | undefined) => {
    if (values === undefined) return;
    const list = unique(values);
    // Like matchesFilter: an empty any-of list matches nothing (whereas an empty all-of list matches all).
    if (list.length === 0) where.push("0");
    else where.push(`${column} IN (${list.map(() => "?").join(", ")})`);
    params.push(...list);
  };
  anyOf("s.type", filter.type);
  anyOf("s.status", filter.status);
  const exact = (column: string, value: string | undefined) => {
    if (value === undefined) return;
    where.push(`${column} = ?`);
    params.push(value);
  };
  exact("s.provider", filter.provider);
  exact("s.owner", filter.owner);
  exact("s.visibility", filter.visibility);
  if (filter.q !== undefined) {
    where.push("instr(s.search, ?) > 0");
    params.push(searchNeedle(filter.q));
  }
  const visibility = visibilityClause(viewer);
  if (visibility) {
    where.push(visibility.sql);
    params.push(...visibility.params);
  }
  params.push(limit);
  const sql =
    `SELECT s.seq, s.id, s.heartbeat_at, s.revision, s.doc FROM ${from}` +
    (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
    ` ORDER BY ${seqColumn} LIMIT ?`;
  return { sql, params };
}
