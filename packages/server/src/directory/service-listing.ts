/**
 * @module directory/service-listing
 * `GET /api/services` across both sources of the directory: this node's registry (`location=local`, the
 * default, so that existing clients see what they always saw) and the records imported from peers
 * (`location=remote`, or `origin=<did>`), or both (`location=all`: local records first, then remote ones, one
 * cursor across both). Imported records are public by construction, so every reader may see them. Local
 * records carry this node's health verdict (through the registry's reads); imported ones `health: "unknown"`,
 * since their origin checks them, not this node.
 *
 * Sorting (`sort`, `order`): each part is sorted on its own and `location=all` keeps "local first, then remote".
 * Merging the two into one order would need a cursor holding a position in each and would move the boundary
 * between them as records come and go; keeping the parts apart keeps one simple cursor and the rule every client
 * already knows (the web app labels remote rows). Remote records have no registration position: their
 * `registered` order is the imported directory's (id, origin) order, and ties of a sorted remote listing go by
 * (id, origin) too, in the sort's direction. The imported directory lives in memory, so a sorted remote page is
 * a scan of its matching records, like the stores' top-N scans.
 */
import { compareSortValues, compareText, serviceSortValue, type ListServicesQuery, type ListServicesResponse, type ServiceFilter, type ServiceRecord } from "@kai/protocol";
import type { Principal } from "../auth/principal.js";
import { ApiError } from "../errors.js";
import type { RegistryService } from "../registry/registry-service.js";
import { decodeSortedPosition, encodeSortedPosition, InvalidCursorError, isDefaultOrder, orderOf, type ListingOrder } from "../storage/contracts/page-cursor.js";
import { REMOTE_CURSOR_PREFIX, REMOTE_START_CURSOR, type ImportedDirectory } from "../federation/imported-directory.js";

export interface ServiceListingDeps {
  registry: RegistryService;
  /** This node's DID: as an `origin` it means the local records. */
  nodeDid: string;
  /** The records imported from peers; without it, remote listings are empty. */
  imported?: ImportedDirectory;
  /** The registry's current revision (what a remote-only page reflects). */
  currentRevision: () => number;
}

/** An imported record as the directory shows it: this node has no health verdict on it. */
export function asImported(record: ServiceRecord): ServiceRecord {
  return { ...record, health: "unknown" };
}

export class ServiceListing {
  constructor(private readonly deps: ServiceListingDeps) {}

  async list(principal: Principal, query: ListServicesQuery): Promise<ListServicesResponse> {
    const { location, origin, ...rest } = query;
    const { registry } = this.deps;
    // This node's own DID as an origin means its own records.
    const where = origin === this.deps.nodeDid ? "local" : origin !== undefined ? "remote" : (location ?? "local");
    if (where === "local") return registry.list(principal, rest);
    const { limit, cursor, sort, order, ...filter } = rest;
    const listing: ListingOrder = { sort, order };
    const remoteFilter: ServiceFilter = { ...filter, ...(origin !== undefined ? { origin } : {}) };
    if (where === "remote" || cursor?.startsWith(REMOTE_CURSOR_PREFIX)) {
      const revision = this.deps.currentRevision();
      return { ...this.remote(remoteFilter, limit, cursor, listing), revision };
    }
    const local = await registry.list(principal, rest);
    if (local.nextCursor !== null) return local;
    if (local.services.length >= limit) return { ...local, nextCursor: REMOTE_START_CURSOR };
    const remote = this.remote(remoteFilter, limit - local.services.length, undefined, listing);
    return { services: [...local.services, ...remote.services], revision: local.revision, nextCursor: remote.nextCursor };
  }

  /** The origins of the imported records with this id: a change to one of them belongs on its origin node. */
  importedOrigins(id: string): string[] {
    return this.deps.imported?.originsOf(id) ?? [];
  }

  private remote(filter: ServiceFilter, limit: number, cursor: string | undefined, listing: ListingOrder) {
    const { imported } = this.deps;
    if (!imported) return { services: [], nextCursor: null };
    try {
      const page = isDefaultOrder(listing) ? imported.query(filter, limit, cursor) : sortedRemote(imported, filter, limit, cursor, listing);
      return { services: page.services.map(asImported), nextCursor: page.nextCursor };
    } catch (error) {
      if (error instanceof InvalidCursorError) throw new ApiError("validation_failed", "invalid cursor", [{ path: "cursor", message: "is not a cursor this server issued" }]);
      throw error;
    }
  }
}

/** An imported record's tie-breaker: the imported directory's own key order, (id, origin). */
const remoteKey = (record: ServiceRecord): string => `${record.id}\n${record.origin ?? ""}`;

/**
 * One page of the imported records matching `filter`, sorted by `listing`, after `cursor` (`r.` and a sorted
 * position whose tie is the (id, origin) key; `r.` alone starts from the beginning, as `location=all` hands out).
 */
function sortedRemote(imported: ImportedDirectory, filter: ServiceFilter, limit: number, cursor: string | undefined, listing: ListingOrder) {
  const { sort, order } = orderOf(listing);
  let after: { value: string | number | null; tie: string } | undefined;
  if (cursor !== undefined) {
    if (!cursor.startsWith(REMOTE_CURSOR_PREFIX)) throw new InvalidCursorError();
    const body = cursor.slice(REMOTE_CURSOR_PREFIX.length);
    if (body !== "") after = decodeSortedPosition<string>(body, listing, "string");
  }
  const sign = order === "asc" ? 1 : -1;
  type Row = { record: ServiceRecord; value: string | number | null; tie: string };
  const compare = (a: Omit<Row, "record">, b: Omit<Row, "record">) => sign * (compareSortValues(a.value, b.value) || compareText(a.tie, b.tie));
  const rows: Row[] = [];
  // Every matching record, in one call (the directory is in memory); the cursor's keyset then picks the rest.
  for (const record of imported.query(filter, Number.MAX_SAFE_INTEGER).services) {
    const row = { record, value: serviceSortValue(record, sort), tie: remoteKey(record) };
    if (after === undefined || compare(row, after) > 0) rows.push(row);
  }
  rows.sort(compare);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > limit && last ? REMOTE_CURSOR_PREFIX + encodeSortedPosition(listing, { value: last.value, tie: last.tie }) : null;
  return { services: page.map((row) => row.record), nextCursor };
}
