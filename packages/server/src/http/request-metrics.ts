/**
 * @module http/request-metrics
 * Counts every answered request and its duration by method, route pattern and status. The pattern
 * (`/api/services/:id`), never the path, so a label cannot grow with the number of services; requests
 * that matched no route count under `unmatched`.
 */
import type { FastifyInstance } from "fastify";
import type { NodeMetrics } from "../metrics/metrics.js";

export function installRequestMetrics(app: FastifyInstance, metrics: NodeMetrics): void {
  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
}
