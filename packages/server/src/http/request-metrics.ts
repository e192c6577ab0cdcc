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
    metrics.recordHttpRequest(request.method, request.routeOptions.url ?? "unmatched", reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
