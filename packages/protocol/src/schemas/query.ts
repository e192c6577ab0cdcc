/**
 * @module query
 * Discovery filters, shared by `GET /api/services`, WebSocket subscriptions and the SDK, plus the
 * one function that decides whether a record matches a filter (used by the server's stream fan-out
 * and by clients that keep a local view), and the listing's sort orders with the one function that
 * compares two records the way the node orders them (so a client merging live changes into sorted
 * pages places each record where the node's next page would have it).
 */
import { z } from "zod";
import {
  CapabilitySchema,
  ServiceRecordSchema,
  ServiceStatusSchema,
  ServiceTypeSchema,
  TagSchema,
  VisibilitySchema,
  type ServiceRecord,
} from "./service.js";

/**
 * Query strings repeat keys (`tag=a&tag=b`); a single value arrives as a string. Accept one value or a
 * list (so that callers get `T | T[]` as the input type) and normalise to a list.
 */
const repeatable = <T extends z.ZodType>(item: T) =>
  z
    .union([item, z.array(item).max(32)])
    .transform((value): z.output<T>[] => (Array.isArray(value) ? value : [value]))
    .optional();

/** Filters for discovery. Every given filter must match; within `tag` and `capability`, all values must match. */
export const ServiceFilterSchema = z.strictObject({
  type: repeatable(ServiceTypeSchema),
  tag: repeatable(TagSchema),
  capability: repeatable(CapabilitySchema),
  provider: z.string().max(64).optional(),
  owner: z.string().max(128).optional(),
  status: repeatable(ServiceStatusSchema),
  visibility: VisibilitySchema.optional(),
  /** Case-insensitive text search over id, name, description, provider, tags and capabilities. */
  q: z.string().min(1).max(200).optional(),
  /**
   * Which records: this node's own (`local`, the default), those imported from federation peers (`remote`),
   * or both (`all`, local first).
   */
  location: z.enum(["local", "remote", "all"]).optional(),
  /** Only records imported from this origin node (a DID); implies `location=remote`. */
  origin: z.string().min(1).max(200).optional(),
});
export type ServiceFilterInput = z.input<typeof ServiceFilterSchema>;
export type ServiceFilter = z.output<typeof ServiceFilterSchema>;

/**
 * What a listing can be sorted by. `registered` is registration order (the node's listing position, the
 * default); the others sort by a field: `name` case-insensitively (ASCII letters folded, as both databases
 * fold them), `updated` by `updatedAt`, `provider` with a missing provider as "". Text compares by code
 * point (bytewise UTF-8), identically on every backend. Ties go by registration position, in the same
 * direction as the sort.
 */
export const SERVICE_SORTS = ["registered", "name", "updated", "status", "type", "provider", "owner"] as const;
export const ServiceSortSchema = z.enum(SERVICE_SORTS);
export type ServiceSort = z.infer<typeof ServiceSortSchema>;
export const SortOrderSchema = z.enum(["asc", "desc"]);
export type SortOrder = z.infer<typeof SortOrderSchema>;

/**
 * `GET /api/services` query string: a filter plus sorting and paging. Watches take only the filter (a
 * stream of changes has no order to keep), so `sort` and `order` live here, not in ServiceFilterSchema.
 * Absent `sort`/`order` mean `registered`/`asc` (optional rather than defaulted, so that a query built in
 * code without them still types).
 */
export const ListServicesQuerySchema = ServiceFilterSchema.extend({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** A cursor of a sorted listing carries the last row's sort value (a name of up to 200 characters). */
  cursor: z.string().max(2048).optional(),
  sort: ServiceSortSchema.optional().describe("Sort key (default `registered`: registration order)"),
  order: SortOrderSchema.optional().describe("Sort direction (default `asc`)"),
});
export type ListServicesQueryInput = z.input<typeof ListServicesQuerySchema>;
export type ListServicesQuery = z.output<typeof ListServicesQuerySchema>;

export const ListServicesResponseSchema = z.object({
  services: z.array(ServiceRecordSchema),
  /** The registry revision this answer reflects; a watch started from it misses nothing. */
  revision: z.int(),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type ListServicesResponse = z.infer<typeof ListServicesResponseSchema>;

function includesAll(have: readonly string[], want: readonly string[] | undefined): boolean {
  return want === undefined || want.every((value) => have.includes(value));
}

/** True when `service` satisfies every condition of `filter` (visibility rules are the server's job). */
export function matchesFilter(service: ServiceRecord, filter: ServiceFilter): boolean {
  if (filter.type && !filter.type.includes(service.type)) return false;
  if (filter.status && !filter.status.includes(service.status)) return false;
  if (filter.provider !== undefined && service.provider !== filter.provider) return false;
  if (filter.owner !== undefined && service.owner !== filter.owner) return false;
  if (filter.visibility !== undefined && service.visibility !== filter.visibility) return false;
  if (filter.location === "local" && service.origin !== undefined) return false;
  if (filter.location === "remote" && service.origin === undefined) return false;
  if (filter.origin !== undefined && service.origin !== filter.origin) return false;
  if (!includesAll(service.tags, filter.tag)) return false;
  if (!includesAll(service.capabilities, filter.capability)) return false;
  if (filter.q !== undefined) {
    const needle = filter.q.toLowerCase();
    const haystack = [service.id, service.name, service.description, service.provider ?? "", ...service.tags, ...service.capabilities];
    if (!haystack.some((text) => text.toLowerCase().includes(needle))) return false;
  }
  return true;
}

/** Lower-cases ASCII letters only: what SQLite's lower() and PostgreSQL's lower() under COLLATE "C" do. */
function foldAscii(text: string): string {
  return /[A-Z]/.test(text) ? text.replace(/[A-Z]+/g, (run) => run.toLowerCase()) : text;
}

/** A UTF-16 unit's rank in code point order: surrogates (astral code points) above U+E000..U+FFFF. */
const rankUnit = (unit: number): number => (unit >= 0xd800 && unit <= 0xdfff ? unit + 0x2000 : unit >= 0xe000 ? unit - 0x800 : unit);

/** Compares by code point, i.e. as UTF-8 bytes compare (SQLite's BINARY, PostgreSQL's "C"); `<` on strings compares UTF-16 units. */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rankUnit(x) - rankUnit(y);
  }
  return a.length - b.length;
}

function timeMs(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms;
}

/**
 * The value a record sorts by under `sort`, exactly as the stores compute it (the same value goes into the
 * cursor). `registered` has no field: the node's listing position orders it, which clients do not see.
 */
export function serviceSortValue(service: ServiceRecord, sort: ServiceSort): string | number | null {
  switch (sort) {
    case "registered":
      return null;
    case "name":
      return foldAscii(service.name);
    case "updated":
      return timeMs(service.updatedAt);
    case "status":
      return service.status;
    case "type":
      return service.type;
    case "provider":
      return service.provider ?? "";
    case "owner":
      return service.owner;
  }
}

/** Compares two sort values of the same key (numbers numerically, text by code point). */
export function compareSortValues(a: string | number | null, b: string | number | null): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return compareText(a, b);
  return 0;
}

/**
 * Orders two records as the node's listing sorted by (`sort`, `order`) does, apart from ties: the node
 * breaks those by registration position, which a client does not know, so this returns 0 for them (and
 * always for `registered`) and the caller tie-breaks by something stable of its own (the id, or the key).
 */
export function compareServices(a: ServiceRecord, b: ServiceRecord, sort: ServiceSort = "registered", order: SortOrder = "asc"): number {
  const byValue = compareSortValues(serviceSortValue(a, sort), serviceSortValue(b, sort));
  const sign = Math.sign(byValue);
  return order === "desc" ? -sign || 0 : sign;
}
