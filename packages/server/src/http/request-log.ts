/**
 * @module http/request-log
 * One structured log line per request: request id, method, route, status, duration, caller, and the registered service
 * it was about (`serviceId`: the `:id` of the registry's `/api/services/:id…` routes, the id a registration
 * (`POST /api/services/register`) registered, or the service that answered a gateway request), so that
 * `kai logs tail --service <id>` shows a service's registration, heartbeats, changes and routed calls.
 * Deliberately logs the route pattern and path without the query string, and no headers, so that a
 * token passed as `?token=` or in `Authorization` can never reach a log line; a route whose path itself carries a
 * credential or a secret's name has those parameters masked (http/logged-path.ts).
 *
 * The line is written once the answer is sent (`onResponse`). A streamed answer that never finishes gets no
 * `onResponse` from Fastify: it is logged when its connection closes, with `closedEarly` when the client went away (a
 * closed log stream, a download given up: the connection ended or was reset by its peer), with `unfinished` when the
 * node broke it off itself (the stream failed after the headers were sent: Fastify destroys the response; its own
 * line about that is off with the rest of its request logging). Requests the router refuses before any route or hook (a path
 * parameter over the length limit, a malformed escape) are logged by the error handler through `logRouterRejection`.
 */
import { randomUUID } from "node:crypto";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import { GATEWAY_HEADERS, IdentifierSchema, parseJson, ServiceRecordSchema } from "@kai/protocol";
import type { Bindings, ChildLoggerOptions } from "pino";
import type { Logger } from "../logging/logger.js";
import { markBoundToRequest, runInRequestScope } from "../logging/request-scope.js";
import type { NodeTracing } from "../tracing/node-tracing.js";
import { installRequestSpans, requestTraceIds } from "../tracing/http-spans.js";
import { SecretPaths } from "./logged-path.js";

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
    const child = this.logger().child(bindings, options);
    markBoundToRequest(child);
    return child;
  }

  private write(method: LogMethod, args: unknown[]): void {
    // A level the child would drop: no child needed (pino's own check, when the parent is pino and no level was set here).
    const parent = this.parent as FastifyBaseLogger & { isLevelEnabled?: (level: string) => boolean };
    if (!this.real && this.options.level === undefined && parent.isLevelEnabled && !parent.isLevelEnabled(method)) return;
    (this.logger()[method] as (...values: unknown[]) => void)(...args);
  }

  private logger(): FastifyBaseLogger {
    if (this.real) return this.real;
    this.real = this.parent.child(this.bindings, this.options);
    // Its bindings carry the request id: the logger's mixin must not add it again (logging/request-scope.ts).
    markBoundToRequest(this.real);
    return this.real;
  }
}

/** Fastify's `childLoggerFactory`: see `LazyRequestLogger`. */
export function lazyChildLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new LazyRequestLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}

/** The registry's routes about one service: `/api/services/:id`, `/api/services/:id/heartbeat`, `…/check`. */
const SERVICE_ROUTE = "/api/services/:id";
/** The registration route: the service it is about is in its body (or, when the node chose the id, its answer). */
const REGISTER_ROUTE = "/api/services/register";
/** What a registration's answer is read for: only its id. */
const RegisteredIdSchema = ServiceRecordSchema.pick({ id: true });

/** The id a registration answer carried, for a registration whose body named none (read in its `onSend`). */
const registeredIds = new WeakMap<FastifyRequest, string>();

/** A registration body's `id`, when it is a valid identifier (a refused body may hold anything: it is not echoed). */
function bodyServiceId(request: FastifyRequest): string | undefined {
  const id = (request.body as { id?: unknown } | null | undefined)?.id;
  return IdentifierSchema.safeParse(id).success ? (id as string) : undefined;
}

/** The registered service a request was about, if any (see the module comment). */
function serviceIdOf(request: FastifyRequest, reply: FastifyReply, route: string | undefined): string | undefined {
  const served = reply.getHeader(GATEWAY_HEADERS.service);
  if (typeof served === "string") return served;
  if (route === REGISTER_ROUTE && request.method === "POST") return bodyServiceId(request) ?? registeredIds.get(request);
  if (route?.startsWith(SERVICE_ROUTE) !== true) return undefined;
  const id = (request.params as { id?: unknown } | undefined)?.id;
  return typeof id === "string" ? id : undefined;
}

/**
 * Added to the registration route only (through `onRoute`, so no other request pays for it): a registration without an
 * id got one from the node, which only its answer says.
 */
function rememberRegisteredId(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (error: null, payload: unknown) => void): void {
  if (reply.statusCode < 300 && typeof payload === "string" && bodyServiceId(request) === undefined) {
    const parsed = parseJson(payload);
    const record = parsed.ok ? RegisteredIdSchema.safeParse(parsed.value) : undefined;
    if (record?.success) registeredIds.set(request, record.data.id);
  }
  done(null, payload);
}

/** Appends a hook to a route's own list of one kind (a route may give one function, a list or none). */
function withHook<T>(existing: T | T[] | undefined, hook: T): T[] {
  return existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook];
}

/** Each app's request lines, for the error handler's router rejections (they reach no hook of the app). */
const requestLines = new WeakMap<FastifyInstance, (request: FastifyRequest, reply: FastifyReply, extra?: Record<string, unknown>) => void>();

/** The longest path a request line repeats: a line stays short whatever a caller sends (a 3,000-character path, say). */
const MAX_LOGGED_PATH = 1024;

function cut(path: string): string {
  return path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
}

/** Each app's secret routes (http/logged-path.ts), for the error handler's 404 message. */
const appSecretPaths = new WeakMap<FastifyInstance, SecretPaths>();

/** The logged path of a request that matched no route, once worked out (its 404 message and its line both need it). */
const unmatchedPaths = new WeakMap<FastifyRequest, string>();

/**
 * Logs a request the router refused before any route matched or any hook ran (frameworkErrors: http/error-handler.ts),
 * like every other request; nothing when the app has no request log.
 */
export function logRouterRejection(request: FastifyRequest, reply: FastifyReply): void {
  requestLines.get(request.server)?.(request, reply);
}

/**
 * The path of a request that matched no route as its request line shows it (a share link's token masked): what the
 * 404's message may repeat, so that an answer echoes no more than the log keeps.
 */
export function unmatchedPathOf(request: FastifyRequest): string {
  let logged = unmatchedPaths.get(request);
  if (logged === undefined) {
    const path = request.url.split("?", 1)[0]!;
    logged = appSecretPaths.get(request.server)?.unmatchedPath(path) ?? path;
    unmatchedPaths.set(request, logged);
  }
  return logged;
}

/**
 * Whether the client closed the connection of an answer that did not finish: its end of the connection ended or was
 * reset. When the node destroys the answer itself (a stream that failed), the socket is destroyed from this side, with
 * neither. (`request.raw.aborted` tells nothing here: Node sets it whichever side closed the socket.)
 */
function clientWentAway(request: FastifyRequest): boolean {
  const socket = request.raw.socket;
  return socket.readableEnded || socket.errored !== null;
}

export function installRequestLog(app: FastifyInstance, logger: Logger, tracing?: NodeTracing): void {
  const secretPaths = new SecretPaths();
  appSecretPaths.set(app, secretPaths);
  app.addHook("onRoute", (route: RouteOptions) => {
    secretPaths.onRoute(route);
    if (route.url === REGISTER_ROUTE && (route.method === "POST" || (Array.isArray(route.method) && route.method.includes("POST")))) {
      route.onSend = withHook(route.onSend, rememberRegisteredId as never);
    }
  });
  const write = (request: FastifyRequest, reply: FastifyReply, extra?: Record<string, unknown>): void => {
    // Skip building the line at all when request lines are not logged (e.g. level warn under benchmarks).
    if (!logger.isLevelEnabled("info")) return;
    // One read: Fastify builds `routeOptions` anew on each access.
    const { url: route, config } = request.routeOptions;
    const serviceId = serviceIdOf(request, reply, route);
    request.log.info(
      {
        // requestId comes from the request's child logger (logController's requestIdLogLabel).
        method: request.method,
        route: route ?? null,
        path: cut(route === undefined ? unmatchedPathOf(request) : secretPaths.matchedPath(request.url.split("?", 1)[0]!, config)),
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        owner: request.principal?.owner,
        ...(serviceId !== undefined ? { serviceId } : {}),
        ...extra,
        // Written after the handler's traced context is left: the span's ids are added here (tracing/http-spans.ts).
        ...(tracing ? requestTraceIds(request) : {}),
      },
      "request",
    );
  };
  requestLines.set(app, write);
  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("X-Request-Id", request.id);
    // Every line written while serving it carries its id (logging/request-scope.ts).
    runInRequestScope(request.id, done);
  });
  app.addHook("onSend", (request, reply, payload, done) => {
    // A streamed answer (a log or event stream, a download) may be left by its client before it ends: see the module comment.
    if (payload !== null && typeof payload === "object" && typeof (payload as { pipe?: unknown }).pipe === "function") {
      // Once only: an answer that finished (or failed with an error: Fastify's `onResponse` runs on 'error' too) was
      // logged there. Fastify's `destroy()` of a stream that failed after the headers were sent gives no error
      // (`errored` is left undefined) and no `onResponse`: that one is logged here.
      reply.raw.once("close", () => {
        if (reply.raw.writableFinished || reply.raw.errored) return;
        write(request, reply, clientWentAway(request) ? { closedEarly: true } : { unfinished: true });
      });
    }
    done(null, payload);
  });
  app.addHook("onResponse", (request: FastifyRequest, reply, done) => {
    write(request, reply);
    done();
  });
  // After the log's hooks: the span ends after the request's line has read its ids.
  if (tracing) installRequestSpans(app, tracing);
}
