/**
 * @module http/routes/services
 * The seed's registry routes: register, discover, read, patch, heartbeat, deregister, and the bulk routes that
 * register or deregister up to 1000 services in one request (one storage transaction, one count in the write bucket).
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  BulkDeregistrationRequestSchema,
  BulkDeregistrationResponseSchema,
  BulkRegistrationRequestSchema,
  BulkRegistrationResponseSchema,
  ErrorBodySchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  IdentifierSchema,
  ListServicesQuerySchema,
  ListServicesResponseSchema,
  ServicePatchSchema,
  ServiceRecordSchema,
  ServiceRegistrationSchema,
} from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { RegistryService } from "../../registry/registry-service.js";
import type { ServiceListing } from "../../directory/service-listing.js";
import { principalOf } from "../authenticate.js";
import { atEntry } from "../../registry/bulk-entries.js";
import { patchKeepingReserved, refuseReservedRegistration } from "../../registry/reserved-metadata.js";
import { yieldToIo } from "../yield-to-io.js";

const IdParamsSchema = z.strictObject({ id: IdentifierSchema });

/**
 * The register route's body schema, compiled: zod's generated parser for the same schema (same rules, same value),
 * on the route's ordinary validator. A body the generated parser refuses is validated again by the schema itself,
 * so every 400 keeps its error body. Why: the registry's hottest body, and validating it was the largest single
 * cost of a registration on the server (issue 13). `strict`: should the schema ever stop compiling (a recursive
 * field, an async check), the server fails at start rather than silently going slow.
 */
const RegistrationBodySchema = z.compile(ServiceRegistrationSchema, { strict: true });
/** The bulk route's body schema, compiled like the register route's (the same registration schema, 1..1000 times). */
const BulkBodySchema = z.compile(BulkRegistrationRequestSchema, { strict: true });
/**
 * The bulk route's own body limit: 1000 registrations of up to ~8 KB each. The node-wide `server.bodyLimit` (1 MiB
 * by default) is sized for one record and would refuse a full batch of entries with rich metadata.
 */
const BULK_BODY_LIMIT = 8 * 1024 * 1024;
/**
 * The bulk delete's own body limit: 1000 ids of up to 128 characters are ~130 KB. Its own rather than the node-wide
 * `server.bodyLimit`, so that a node configured for small records still takes a full batch of ids.
 */
const BULK_DELETE_BODY_LIMIT = 256 * 1024;
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];

/**
 * Runs a change by id on a local record. When there is none but the directory lists imported records with
 * that id, the bare 404 becomes a 409 that says why: an imported record is read-only here, and only its
 * origin node can change or remove it (the next statement from the origin would undo a local change anyway).
 */
async function onLocalRecord<T>(listing: ServiceListing, id: string, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "not_found") throw error;
    throw importedRefusal(listing, id) ?? error;
  }
}

/** The 409 for an id that has no local record the caller may change but is listed as imported; undefined if not. */
function importedRefusal(listing: ServiceListing, id: string): ApiError | undefined {
  const origins = listing.importedOrigins(id);
  if (origins.length === 0) return undefined;
  return new ApiError("conflict", `service "${id}" is imported from ${origins.join(", ")} and read-only here: change or deregister it on its origin node`);
}

export function servicesRoutes(registry: RegistryService, listing: ServiceListing): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/services/register", {
      config: { scopes: ["services:write"], bucket: "write" },
      onRequest: yieldToIo,
      schema: {
        tags: ["services"],
        summary: "Register a service (or re-register it: same owner, same id)",
        description: "201 for a new service; 200 when the same owner re-registers an existing id (an update, or a no-op that counts as a heartbeat).",
        security,
        body: RegistrationBodySchema,
        response: { 200: ServiceRecordSchema, 201: ServiceRecordSchema, ...errors },
      },
    }, async (request, reply) => {
      refuseReservedRegistration(request.body);
      const { record, created } = await registry.register(principalOf(request), request.body);
      return reply.status(created ? 201 : 200).send(record);
    });

    app.post("/api/services/bulk", {
      config: { scopes: ["services:write"], bucket: "write" },
      bodyLimit: BULK_BODY_LIMIT,
      schema: {
        tags: ["services"],
        summary: "Register up to 1000 services at once, all or none",
        description:
          "Each entry follows the rules of `POST /api/services/register`. The batch is one storage transaction: an invalid entry (400, field path `services.<i>.<field>`), a refused one (403/409, the message names `services.<i>`), an id named twice (400) or a record changed meanwhile (409: retry) writes nothing. `results` are in the request's order; `unchanged` entries count as heartbeats and emit no event. Body limit 8 MiB.",
        security,
        body: BulkBodySchema,
        response: { 200: BulkRegistrationResponseSchema, ...errors, 413: ErrorBodySchema },
      },
    }, async (request) => {
      request.body.services.forEach((entry, index) => atEntry(index, entry.id ?? "no id", () => refuseReservedRegistration(entry)));
      return registry.registerMany(principalOf(request), request.body.services);
    });

    app.post("/api/services/bulk-delete", {
      config: { scopes: ["services:write"], bucket: "write" },
      bodyLimit: BULK_DELETE_BODY_LIMIT,
      schema: {
        tags: ["services"],
        summary: "Deregister up to 1000 services at once, all or none",
        description:
          "Each id follows the rules of `DELETE /api/services/{id}` (owner or admin). The batch is one storage transaction: another owner's service (403, the message names `ids.<i>`), a record imported from a federation peer (409 naming its origin), an id named twice (400, `body.ids.<i>`) or a record changed meanwhile (409: retry) removes nothing. An id with no record you can see is `absent` in the results (where `DELETE` answers 404), not a refusal: a prune that races with other deletes still completes. `results` are in the request's order; each removal emits its `deregistered` event, as a single delete does. Body limit 256 KiB.",
        security,
        body: BulkDeregistrationRequestSchema,
        response: { 200: BulkDeregistrationResponseSchema, ...errors, 413: ErrorBodySchema },
      },
    }, async (request) => registry.removeMany(principalOf(request), request.body.ids, (id) => importedRefusal(listing, id)));

    app.get("/api/services", {
      config: { scopes: ["services:read"], bucket: "read" },
      schema: {
        tags: ["services"],
        summary: "Discover services",
        description:
          "Filters combine with AND; `tag` and `capability` may repeat and all values must match. In registration order by default; `sort` (`registered`, `name`, `updated`, `status`, `type`, `provider`, `owner`) and `order` (`asc`, `desc`) sort on the node, ties by registration position. Follow `nextCursor` with the same sort and order (a cursor of another sort is refused). A sorted page is a scan of the matching records (no index per sort key, to keep registration fast). `location=remote` (or `origin=<did>`) lists records imported from federation peers, `location=all` both (local first, each part sorted).",
        security,
        querystring: ListServicesQuerySchema,
        response: { 200: ListServicesResponseSchema, ...errors },
      },
    }, async (request, reply) => {
      const page = await listing.list(principalOf(request), request.query);
      return reply.header("X-Kai-Revision", String(page.revision)).send(page);
    });

    app.get("/api/services/:id", {
      config: { scopes: ["services:read"], bucket: "read" },
      schema: { tags: ["services"], summary: "Read one service", security, params: IdParamsSchema, response: { 200: ServiceRecordSchema, ...errors } },
    }, async (request) => registry.get(principalOf(request), request.params.id));

    app.patch("/api/services/:id", {
      config: { scopes: ["services:write"], bucket: "write" },
      schema: {
        tags: ["services"],
        summary: "Change a service (merge patch; owner or admin)",
        security,
        params: IdParamsSchema,
        body: ServicePatchSchema,
        response: { 200: ServiceRecordSchema, ...errors },
      },
    }, async (request) => onLocalRecord(listing, request.params.id, () => patchKeepingReserved(registry, principalOf(request), request.params.id, request.body)));

    app.post("/api/services/:id/heartbeat", {
      config: { scopes: ["services:heartbeat", "services:write"], bucket: "heartbeat" },
      onRequest: yieldToIo,
      schema: {
        tags: ["services"],
        summary: "Renew a service's lease (owner or admin)",
        description: "A heartbeat that changes nothing is not an event. With `status` it can report `degraded` or recovery to `active`.",
        security,
        params: IdParamsSchema,
        body: HeartbeatRequestSchema.nullish(),
        response: { 200: HeartbeatResponseSchema, ...errors },
      },
    }, async (request) => onLocalRecord(listing, request.params.id, () => registry.heartbeat(principalOf(request), request.params.id, request.body ?? {})));

    app.delete("/api/services/:id", {
      config: { scopes: ["services:write"], bucket: "write" },
      schema: {
        tags: ["services"],
        summary: "Deregister a service (owner or admin)",
        description: "A record imported from a federation peer is read-only here: 409 `conflict`, naming its origin node.",
        security,
        params: IdParamsSchema,
        response: { 204: z.null().describe("Deregistered"), ...errors },
      },
    }, async (request, reply) => {
      await onLocalRecord(listing, request.params.id, () => registry.remove(principalOf(request), request.params.id));
      return reply.status(204).send(null);
    });
  };
}
