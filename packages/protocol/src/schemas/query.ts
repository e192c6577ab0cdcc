/**
 * @module query
 * Discovery filters, shared by `GET /api/services`, WebSocket subscriptions and the SDK, plus the
 * one function that decides whether a record matches a filter (used by the server's stream fan-out
 * and by clients that keep a local view).
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

/** `GET /api/services` query string: a filter plus paging. */
export const ListServicesQuerySchema = ServiceFilterSchema.extend({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
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
