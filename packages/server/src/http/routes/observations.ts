/**
 * @module http/routes/observations
 * What the node measured of its gateway traffic, as JSON for people (the web app): `GET /api/metrics/summary`
 * (scope `metrics:read`, like `/metrics`: node-wide figures by service id) and `GET /api/services/{id}/activity`
 * (scope `services:read`; only a service the caller may see, anything else is `not_found` as for `GET
 * /api/services/{id}`). Both read metrics/node-activity.ts; nothing here is stored.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ErrorBodySchema, IdentifierSchema, MetricsSummarySchema, ServiceActivitySchema, type MetricsSummary, type ServiceActivity } from "@kai/protocol";
import type { NodeActivity } from "../../metrics/node-activity.js";
import type { RegistryService } from "../../registry/registry-service.js";
import { principalOf } from "../authenticate.js";

export interface ObservationDeps {
  activity: NodeActivity;
  /** Reads the record (and with it, whether the caller may see the service). */
  registry: Pick<RegistryService, "get">;
}

const security = [{ bearer: [] }];
const errors = { 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };

export function observationRoutes(deps: ObservationDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/metrics/summary", {
      config: { scopes: ["metrics:read"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "Gateway traffic now and over the last hour (this instance)",
        description: "Calls, errors, error rate and latency (p50/p99) right now and per minute over the last hour; by capability and by service; open breakers; recent errors.",
        security,
        response: { 200: MetricsSummarySchema, ...errors },
      },
    }, async (): Promise<MetricsSummary> => deps.activity.summary());

    app.get("/api/services/:id/activity", {
      config: { scopes: ["services:read"], bucket: "read" },
      schema: {
        tags: ["services"],
        summary: "A service's traffic, breaker, health history and recent errors (this instance)",
        security,
        params: z.strictObject({ id: IdentifierSchema }),
        response: { 200: ServiceActivitySchema, 404: ErrorBodySchema, ...errors },
      },
    }, async (request): Promise<ServiceActivity> => {
      const record = await deps.registry.get(principalOf(request), request.params.id);
      return { ...deps.activity.service(record.id), status: record.status, health: record.health ?? "unknown" };
    });
  };
}
