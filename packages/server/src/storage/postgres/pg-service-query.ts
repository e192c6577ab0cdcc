/**
 * @module storage/postgres/pg-service-query
 * PostgreSQL's dialect of the filtered listing (rows/service-list-query.ts, the same meaning as SQLite's and
 * `matchesFilter`): `$n` parameters, a plain JOIN from the driver's primary-key entries (PostgreSQL walks them in
 * page order and stops after `limit` hits), a list matched as one text[] parameter, and `strpos` (not LIKE) for
 * the search. Without a capability or tag, the walk is the `services` primary key (seq), or the (owner, seq) /
 * (status, seq) index when those filters are given.
 */
import type { ServiceFilter } from "@kai/protocol";
import type { Viewer } from "../contracts/viewer.js";
import { buildServiceListQuery, type ListDialect, type ListSql } from "../rows/service-list-query.js";
import { SERVICE_COLUMNS } from "./pg-service-rows.js";

export { visibilityClause } from "../rows/service-list-query.js";

export type BuiltQuery = ListSql;

const POSTGRES: ListDialect = {
  placeholder: (index) => `$${index}`,
  columns: SERVICE_COLUMNS,
  join: "JOIN",
  never: "false",
  anyOf: (column, list, bind) => `${column} = ANY(${bind(list)}::text[])`,
  contains: (column, needle) => `strpos(${column}, ${needle}) > 0`,
};

/**
 * `SELECT seq, id, heartbeat_at, revision, doc` of the records matching `filter` that `viewer` may see, with
 * seq > `afterSeq`, in seq (registration) order, at most `limit` rows.
 */
export function buildListQuery(filter: ServiceFilter, viewer: Viewer, afterSeq: number | null, limit: number): BuiltQuery {
  return buildServiceListQuery(POSTGRES, filter, viewer, afterSeq, limit);
}
