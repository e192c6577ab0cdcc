/**
 * @module storage/postgres/pg-service-query
 * PostgreSQL's dialect of the filtered listing (rows/service-list-query.ts, the same meaning as SQLite's and
 * `matchesFilter`): `$n` parameters, a plain JOIN from the driver's primary-key entries (PostgreSQL walks them in
 * page order and stops after `limit` hits), a list matched as one text[] parameter, and `strpos` (not LIKE) for
 * the search. Without a capability or tag, the walk is the `services` primary key (seq), or the (owner, seq) /
 * (status, seq) index when those filters are given. Sort values compare under `COLLATE "C"` (bytewise, as SQLite and
 * `serviceSortValue` do, whatever the database's locale); `lower()` under "C" folds ASCII letters only, like SQLite's.
 * The name is read from the document as `json` (parsed per row; no jsonb conversion), as no column holds it.
 */
import type { ServiceFilter } from "@kai/protocol";
import type { Viewer } from "../contracts/viewer.js";
import type { ListingOrder, SortedPosition } from "../contracts/page-cursor.js";
import { buildServiceListQuery, type ListDialect, type ListSql } from "../rows/service-list-query.js";
import { SERVICE_COLUMNS } from "./pg-service-rows.js";

export { visibilityClause } from "../rows/service-list-query.js";

export type BuiltQuery = ListSql;

const SORT_VALUES = {
  name: `lower((s.doc::json ->> 'name') COLLATE "C")`,
  updated: "s.updated_at",
  status: `(s.status COLLATE "C")`,
  type: `(s.type COLLATE "C")`,
  provider: `(coalesce(s.provider, '') COLLATE "C")`,
  owner: `(s.owner COLLATE "C")`,
} as const;

const POSTGRES: ListDialect = {
  placeholder: (index) => `$${index}`,
  columns: SERVICE_COLUMNS,
  join: "JOIN",
  never: "false",
  anyOf: (column, list, bind) => `${column} = ANY(${bind(list)}::text[])`,
  contains: (column, needle) => `strpos(${column}, ${needle}) > 0`,
  sortValue: (sort) => SORT_VALUES[sort],
};

/**
 * `SELECT seq, id, heartbeat_at, revision, doc` (and `sort_value` when sorted) of the records matching `filter` that
 * `viewer` may see, after `after`, in the order of `listing` (default: seq ascending), at most `limit` rows.
 */
export function buildListQuery(filter: ServiceFilter, viewer: Viewer, after: number | SortedPosition | null, limit: number, listing: ListingOrder = {}): BuiltQuery {
  return buildServiceListQuery(POSTGRES, filter, viewer, after, limit, listing);
}
