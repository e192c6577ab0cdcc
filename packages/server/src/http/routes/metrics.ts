/**
 * @module http/routes/metrics
 * `GET /metrics`: Prometheus exposition format. Authenticated like every API route: a scraper holds a
 * token with only `metrics:read` (Prometheus sends it with `authorization: { credentials_file: … }`).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { ErrorBodySchema } from "@kai/protocol";
import type { NodeMetrics } from "../../metrics/metrics.js";

export function metricsRoutes(metrics: NodeMetrics): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/metrics", {
      config: { scopes: ["metrics:read"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "Prometheus metrics (text exposition format)",
        security: [{ bearer: [] }],
        response: { 200: z.string(), 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema },
      },
    }, async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    });
  };
}
