/**
 * @module storage/rows/service-list-query
 * The one meaning of a filtered service listing in SQL, shared by SQLite (sqlite/service-query.ts) and
 * PostgreSQL (postgres/pg-service-query.ts), so the two backends cannot drift from each other or from
 * `matchesFilter`. Each backend passes its dialect: placeholders, the join that drives the walk, how a column is
 * matched against a list and how text is searched. Values are always bound parameters; only fixed clause texts
 * are joined.
 *
 * The shape is chosen for 100k services: when the filter names a capability (or else a tag), the query is
 * driven from that value's index entries, which are sorted by `seq` (the listing order), so the database walks
 * them in page order and stops after `limit` hits; every other tag or capability is an EXISTS probe keyed on
 * the driver's `seq`, so the (wide) services row is read only for candidates that passed.
 *
 * Sorted listings (`sort` other than `registered`, or `order=desc`) page by keyset on (sort value, seq), both in
 * the sort's direction, and select the sort value so the cursor carries the database's own value. No index
 * backs a sort key, on purpose: every index is one more write per registration, and registration throughput is a
 * benchmarked goal. So a sorted page is a top-N scan of the matching rows (the filter's walk as above, then a
 * sort bounded by `limit`): linear in the matching records, fine for the directory's sizes (100k services), and
 * the default order keeps its index walk.
 */
import type { ServiceFilter, ServiceSort } from "@kai/protocol";
import type { Viewer } from "../contracts/viewer.js";
import { orderOf, type ListingOrder, type SortedPosition } from "../contracts/page-cursor.js";
import { searchNeedle } from "../sqlite/record-codec.js";

/** Binds `value` and returns its placeholder in the statement text. */
export type Bind = (value: unknown) => string;

export interface ListDialect {
  /** The placeholder of the `index`-th bound value (1-based). */
  placeholder(index: number): string;
  /** The columns selected from `services AS s`. */
  columns: string;
  /** How a driver table joins `services s` (SQLite's CROSS JOIN pins the join order). */
  join: string;
  /** A condition that is always false. */
  never: string;
  /** `column` equals one of `list` (never empty). */
  anyOf(column: string, list: string[], bind: Bind): string;
  /** `column` contains the plain text bound at `needle`. */
  contains(column: string, needle: string): string;
  /**
   * The expression a sort key orders by, computed as `serviceSortValue` in @kai/protocol does: `name` lower-cased
   * (ASCII letters) from the document, `updated` the updated_at column, `provider` with NULL as ''. Text must
   * compare bytewise (code point order), so that every backend orders the same data the same way.
   */
  sortValue(sort: Exclude<ServiceSort, "registered">): string;
}

export interface ListSql {
  text: string;
  values: unknown[];
}

const unique = (values: readonly string[] | undefined): string[] => [...new Set(values ?? [])];

/** SQL restricting `services AS s` to what `viewer` may see (`canSee` in contracts/viewer.ts); null: everything. */
export function visibilityClause(viewer: Viewer, bind: Bind): string | null {
  if (viewer.admin) return null;
  return `(s.visibility <> 'private' OR s.owner = ${bind(viewer.owner)})`;
}

/** The column the sort value is selected as (null for registration order), read back for the next cursor. */
export const SORT_VALUE_COLUMN = "sort_value";

/**
 * The dialect's columns (plus `sort_value` for a sorted listing) of the records matching `filter` that `viewer`
 * may see, after `after` (a seq, or a cursor's position) in the order of `listing` (by default seq, i.e.
 * registration order, ascending), at most `limit` rows.
 */
export function buildServiceListQuery(
  dialect: ListDialect,
  filter: ServiceFilter,
  viewer: Viewer,
  after: number | SortedPosition | null,
  limit: number,
  listing: ListingOrder = {},
): ListSql {
  const values: unknown[] = [];
  // Conditions are joined in the order they are made, so the values bind in the order their placeholders appear.
  const bind: Bind = (value) => {
    values.push(value);
    return dialect.placeholder(values.length);
  };
  const where: string[] = [];
  const capabilities = unique(filter.capability);
  const tags = unique(filter.tag);

  let from = "services s";
  let seqColumn = "s.seq";
  const driver = capabilities.shift() ?? null;
  const tagDriver = driver === null ? (tags.shift() ?? null) : null;
  if (driver !== null) {
    from = `service_capabilities d ${dialect.join} services s ON s.seq = d.seq`;
    seqColumn = "d.seq";
    where.push(`d.capability = ${bind(driver)}`);
  } else if (tagDriver !== null) {
    from = `service_tags d ${dialect.join} services s ON s.seq = d.seq`;
    seqColumn = "d.seq";
    where.push(`d.tag = ${bind(tagDriver)}`);
  }
  const { sort, order } = orderOf(listing);
  const valueSql = sort === "registered" ? null : dialect.sortValue(sort);
  const cmp = order === "asc" ? ">" : "<";
  const position = typeof after === "number" ? { value: null, tie: after } : after;
  if (position !== null) {
    if (valueSql === null || position.value === null) where.push(`${seqColumn} ${cmp} ${bind(position.tie)}`);
    // Spelled out rather than a row comparison, so that PostgreSQL keeps the expression's "C" collation.
    else where.push(`(${valueSql} ${cmp} ${bind(position.value)} OR (${valueSql} = ${bind(position.value)} AND ${seqColumn} ${cmp} ${bind(position.tie)}))`);
  }
  for (const capability of capabilities) {
    where.push(`EXISTS (SELECT 1 FROM service_capabilities c WHERE c.capability = ${bind(capability)} AND c.seq = ${seqColumn})`);
  }
  for (const tag of tags) where.push(`EXISTS (SELECT 1 FROM service_tags t WHERE t.tag = ${bind(tag)} AND t.seq = ${seqColumn})`);
  const anyOf = (column: string, list: readonly string[] | undefined) => {
    if (list === undefined) return;
    // Like matchesFilter: an empty any-of list matches nothing (whereas an empty all-of list matches all).
    where.push(list.length === 0 ? dialect.never : dialect.anyOf(column, unique(list), bind));
  };
  anyOf("s.type", filter.type);
  anyOf("s.status", filter.status);
  if (filter.provider !== undefined) where.push(`s.provider = ${bind(filter.provider)}`);
  if (filter.owner !== undefined) where.push(`s.owner = ${bind(filter.owner)}`);
  if (filter.visibility !== undefined) where.push(`s.visibility = ${bind(filter.visibility)}`);
  // The needle is plain text (no wildcards), lower-cased the same way as the search column.
  if (filter.q !== undefined) where.push(dialect.contains("s.search", bind(searchNeedle(filter.q))));
  const visibility = visibilityClause(viewer, bind);
  if (visibility) where.push(visibility);
  const direction = order === "asc" ? "" : " DESC";
  const columns = valueSql === null ? dialect.columns : `${dialect.columns}, ${valueSql} AS ${SORT_VALUE_COLUMN}`;
  const orderBy = valueSql === null ? `${seqColumn}${direction}` : `${SORT_VALUE_COLUMN}${direction}, ${seqColumn}${direction}`;
  const text = `SELECT ${columns} FROM ${from}` + (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") + ` ORDER BY ${orderBy} LIMIT ${bind(limit)}`;
  return { text, values };
}
