/**
 * @module storage/sqlite/service-query
 * SQLite's dialect of the filtered listing (rows/service-list-query.ts, the same meaning as PostgreSQL's and
 * `matchesFilter`): `?` parameters, `CROSS JOIN` from the driver's index entries (it pins that join order, so
 * SQLite runs the EXISTS probes on the index entry and reads the wide services row only for candidates that
 * passed), a list matched as `IN (?, ...)`, and `instr` for the search. Sort values compare with SQLite's
 * default BINARY collation (bytewise UTF-8); `lower()` folds ASCII letters only, as `serviceSortValue` does.
 */
import type { ServiceFilter } from "@kai/protocol";
import type { Viewer } from "../contracts/viewer.js";
import type { ListingOrder, SortedPosition } from "../contracts/page-cursor.js";
import { buildServiceListQuery, visibilityClause as visibilitySql, type ListDialect } from "../rows/service-list-query.js";

const SORT_VALUES = {
  name: "lower(json_extract(s.doc, '$.name'))",
  updated: "s.updated_at",
  status: "s.status",
  type: "s.type",
  provider: "coalesce(s.provider, '')",
  owner: "s.owner",
} as const;

export interface BuiltQuery {
  sql: string;
  params: Array<string | number>;
}

const SQLITE: ListDialect = {
  placeholder: () => "?",
  columns: "s.seq, s.id, s.heartbeat_at, s.revision, s.doc",
  join: "CROSS JOIN",
  never: "0",
  anyOf: (column, list, bind) => `${column} IN (${list.map(bind).join(", ")})`,
  contains: (column, needle) => `instr(${column}, ${needle}) > 0`,
  sortValue: (sort) => SORT_VALUES[sort],
};

/** Every value this module binds is a string or a number (filter values, seq, limit). */
const asParams = (values: unknown[]): Array<string | number> => values as Array<string | number>;

/** SQL that, for `viewer`, restricts `services AS s` to the records it may see (null: no restriction). */
export function visibilityClause(viewer: Viewer): BuiltQuery | null {
  const values: unknown[] = [];
  const sql = visibilitySql(viewer, (value) => {
    values.push(value);
    return "?";
  });
  return sql === null ? null : { sql, params: asParams(values) };
}

/**
 * `SELECT s.seq, s.id, s.heartbeat_at, s.revision, s.doc` (and `sort_value` when sorted) of the records matching
 * `filter` that `viewer` may see, after `after`, in the order of `listing` (default: seq ascending), at most `limit` rows.
 */
export function buildListQuery(filter: ServiceFilter, viewer: Viewer, after: number | SortedPosition | null, limit: number, listing: ListingOrder = {}): BuiltQuery {
  const { text, values } = buildServiceListQuery(SQLITE, filter, viewer, after, limit, listing);
  return { sql: text, params: asParams(values) };
}
