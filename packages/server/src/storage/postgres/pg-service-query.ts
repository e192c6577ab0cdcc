/**
 * @module storage/postgres/pg-service-query
 * Builds the SQL of a filtered listing on PostgreSQL, with the same meaning as SQLite's (storage/sqlite/
 * service-query.ts) and `matchesFilter`. The shape is chosen for 100k services: when the filter names a capability
 * (or else a tag), the query is driven from that value's primary-key entries, which are sorted by `seq` (the
 * listing order), so PostgreSQL walks them in page order and stops after `limit` hits; every other tag or
 * capability is an EXISTS probe on the driver's `seq`. Without one, the walk is the `services` primary key (seq),
 * or the (owner, seq) / (status, seq) index when those filters are given. Values are always parameters.
 */
import type { ServiceFilter } from "@kai/protocol";
import type { Viewer } from "../contracts/viewer.js";
import { searchNeedle } from "../sqlite/record-codec.js";
import { SERVICE_COLUMNS } from "./pg-service-rows.js";

export interface BuiltQuery {
  text: string;
  values: unknown[];
}

const unique = (values: readonly string[] | undefined): string[] => [...new Set(values ?? [])];

/** SQL restricting `services AS s` to what `viewer` may see (`canSee` in contracts/viewer.ts); null: everything. */
export function visibilityClause(viewer: Viewer, param: (value: unknown) => string): string | null {
  if (viewer.admin) return null;
  return `(s.visibility <> 'private' OR s.owner = ${param(viewer.owner)})`;
}

/**
 * `SELECT seq, id, heartbeat_at, revision, doc` of the records matching `filter` that `viewer` may see, with
 * seq > `afterSeq`, in seq (registration) order, at most `limit` rows.
 */
export function buildListQuery(filter: ServiceFilter, viewer: Viewer, afterSeq: number | null, limit: number): BuiltQuery {
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const where: string[] = [];
  const capabilities = unique(filter.capability);
  const tags = unique(filter.tag);

  let from = "services s";
  let seqColumn = "s.seq";
  const driver = capabilities.shift() ?? null;
  const tagDriver = driver === null ? (tags.shift() ?? null) : null;
  if (driver !== null) {
    from = "service_capabilities d JOIN services s ON s.seq = d.seq";
    seqColumn = "d.seq";
    where.push(`d.capability = ${param(driver)}`);
  } else if (tagDriver !== null) {
    from = "service_tags d JOIN services s ON s.seq = d.seq";
    seqColumn = "d.seq";
    where.push(`d.tag = ${param(tagDriver)}`);
  }
  if (afterSeq !== null) where.push(`${seqColumn} > ${param(afterSeq)}`);
  for (const capability of capabilities) {
    where.push(`EXISTS (SELECT 1 FROM service_capabilities c WHERE c.capability = ${param(capability)} AND c.seq = ${seqColumn})`);
  }
  for (const tag of tags) where.push(`EXISTS (SELECT 1 FROM service_tags t WHERE t.tag = ${param(tag)} AND t.seq = ${seqColumn})`);
  const anyOf = (column: string, list: readonly string[] | undefined) => {
    if (list === undefined) return;
    // Like matchesFilter: an empty any-of list matches nothing (whereas an empty all-of list matches all).
    where.push(list.length === 0 ? "false" : `${column} = ANY(${param(unique(list))}::text[])`);
  };
  anyOf("s.type", filter.type);
  anyOf("s.status", filter.status);
  if (filter.provider !== undefined) where.push(`s.provider = ${param(filter.provider)}`);
  if (filter.owner !== undefined) where.push(`s.owner = ${param(filter.owner)}`);
  if (filter.visibility !== undefined) where.push(`s.visibility = ${param(filter.visibility)}`);
  // strpos, not LIKE: the needle is plain text (no wildcards), lower-cased the same way as the search column.
  if (filter.q !== undefined) where.push(`strpos(s.search, ${param(searchNeedle(filter.q))}) > 0`);
  const visibility = visibilityClause(viewer, param);
  if (visibility) where.push(visibility);
  const text =
    `SELECT ${SERVICE_COLUMNS} FROM ${from}` + (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") + ` ORDER BY ${seqColumn} LIMIT ${param(limit)}`;
  return { text, values };
}
