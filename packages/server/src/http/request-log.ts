/**
 * @module http/request-log
 * One structured log line per request: request id, method, route, status, duration, caller.
 * Deliberately logs the route pattern and path without the query string, and no headers, so that a
 * token passed as `?token=` or in `Authorization` can never reach a log line.
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Logger } from "../logging/logger.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Honours a caller's `X-Request-Id` when it is a sane identifier, so that a request can be followed across services. */
export function generateRequestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

export function installRequestLog(app: FastifyInstance, logger: Logger): void {
  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("X-Request-Id", request.id);
    done();
  });
  app.addHook("onResponse", (request: FastifyRequest, reply, done) => {
    // Skip building the line at all when request lines are not logged (e.g. level warn under benchmarks).
    if (!logger.isLevelEnabled("info")) return done();
    request.log.info(
      {
        // requestId comes from the request's child logger (logController's requestIdLogLabel).
        method: request.method,
        route: request.routeOptions.url ?? null,
        path: request.url.split("?")[0],
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        owner: request.principal?.owner,
      },
      "request",
    );
    done();
  });
}
