/**
 * @module http/request-log
 * One structured log line per request: request id, method, route, status, duration, caller, and the registered service
 * it was about (`serviceId`: the `:id` of the registry's `/api/services/:id…` routes, or the service that answered a
 * gateway request), so that `kai logs tail --service <id>` shows a service's heartbeats, changes and routed calls.
 * Deliberately logs the route pattern and path without the query string, and no headers, so that a
 * token passed as `?token=` or in `Authorization` can never reach a log line.
 */
import { randomUUID } from "node:crypto";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { GATEWAY_HEADERS } from "@kai/protocol";
import type { Bindings, ChildLoggerOptions } from "pino";
import type { Logger } from "../logging/logger.js";
import type { NodeTracing } from "../tracing/node-tracing.js";
import { installRequestSpans, requestTraceIds } from "../tracing/http-spans.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Honours a caller's `X-Request-Id` when it is a sane identifier, so that a request can be followed across services. */
export function generateRequestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

type LogMethod = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

/**
 * A request's logger that becomes a real pino child only when something logs through it at an enabled level.
 * Fastify builds a child logger for every request (bindings serialised, redaction set up): in bench/gateway
 * profiles ~2% of the CPU per request, while at the usual levels almost no request logs anything itself.
 * The lines it writes are the child's own, so they are the same as before (request id included).
 */
class LazyRequestLogger {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {}

  get level(): string {
    return this.real?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger().level = level;
  }

  fatal(...args: unknown[]): void {
    this.write("fatal", args);
  }

  error(...args: unknown[]): void {
    this.write("error", args);
  }

  warn(...args: unknown[]): void {
    this.write("warn", args);
  }

  info(...args: unknown[]): void {
    this.write("info", args);
  }

  debug(...args: unknown[]): void {
    this.write("debug", args);
  }

  trace(...args: unknown[]): void {
    this.write("trace", args);
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger().child(bindings, options);
  }

  private write(method: LogMethod, args: unknown[]): void {
    // A level the child would drop: no child needed (pino's own check, when the parent is pino and no level was set here).
    const parent = this.parent as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };
    if (!this.real && this.options.level === undefined && parent.isLevelEnabled && !parent.isLevelEnabled(method)) return;
    (this.logger()[method] as (...values: unknown[]) => void)(...args);
  }

  private logger(): FastifyBaseLogger {
    return (this.real ??= this.parent.child(this.bindings, this.options));
  }
}

/** Fastify's `childLoggerFactory`: see `LazyRequestLogger`. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}

/** The registry's routes about one service: `/api/services/:id`, `/api/services/:id/heartbeat`, `…/check`. */
const SERVICE_ROUTE = "/api/services/:id";

/** The registered service a request was about, if any (see the module comment). */
function serviceIdOf(request: FastifyRequest, reply: FastifyReply): string | undefined {
  const served = reply.getHeader(GATEWAY_HEADERS.service);
  if (typeof served === "string") return served;
  if (request.routeOptions.url?.startsWith(SERVICE_ROUTE) !== true) return undefined;
  const id = (request.params as { id?: unknown } | undefined)?.id;
  return typeof id === "string" ? id : undefined;
}

export function installRequestLog(app: FastifyInstance, logger: Logger, tracing?: NodeTracing): void {
  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("X-Request-Id", request.id);
    done();
  });
  app.addHook("onResponse", (request: FastifyRequest, reply, done) => {
    // Skip building the line at all when request lines are not logged (e.g. level warn under benchmarks).
    if (!logger.isLevelEnabled("info")) return done();
    const serviceId = serviceIdOf(request, reply);
    request.log.info(
      {
        // requestId comes from the request's child logger (logController's requestIdLogLabel).
        method: request.method,
        route: request.routeOptions.url ?? null,
        path: request.url.split("?")[0],
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        owner: request.principal?.owner,
        ...(serviceId !== undefined ? { serviceId } : {}),
        // Written after the handler's traced context is left: the span's ids are added here (tracing/http-spans.ts).
        ...(tracing ? requestTraceIds(request) : {}),
      },
      "request",
    );
    done();
  });
  // After the log's hooks: the span ends after the request's line has read its ids.
  if (tracing) installRequestSpans(app, tracing);
}
