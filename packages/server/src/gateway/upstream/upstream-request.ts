/**
 * @module gateway/upstream/upstream-request
 * One upstream request as a connector describes it, and what every transport makes of it the same way: the URL
 * (split into undici's origin and path without a URL parse per request), the outbound headers, and the defaults for
 * timeouts and the answer size. The bottom of the upstream layer with `upstream-error`: it imports neither transport.
 */
import type { CallContext, UpstreamTarget } from "../connector.js";
import { injectTraceHeaders } from "../../tracing/spans.js";

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** The most bytes of one answer (or one stream event or line) held in memory when the caller sets no limit. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** One upstream request as a connector describes it. */
export interface UpstreamRequest {
  /** Connector display name, used in error messages. */
  readonly provider: string;
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path below the base URL, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** Query parameters, encoded and appended to the path (never put a credential here: URLs get logged). */
  readonly query?: Readonly<Record<string, string>>;
  /** JSON-serialised, except a `FormData`, which is sent as multipart with its own boundary. */
  readonly body?: unknown;
  /** Auth headers built from the credential (each connector knows its own header). */
  readonly authHeaders: Record<string, string>;
  readonly context: CallContext;
}

/** Builds a connector's `UpstreamRequest`s: the provider name and how its credential travels are fixed once. */
export function upstreamRequests(provider: string, authHeaders: (target: UpstreamTarget) => Record<string, string>) {
  return (method: UpstreamRequest["method"], path: string, context: CallContext, body?: unknown, query?: Record<string, string>): UpstreamRequest => {
    // By assignment rather than conditional spreads: one of these is built per upstream call.
    const request: { -readonly [K in keyof UpstreamRequest]: UpstreamRequest[K] } = { provider, method, path, context, authHeaders: authHeaders(context.target) };
    if (body !== undefined) request.body = body;
    if (query !== undefined) request.query = query;
    return request;
  };
}

/** `?a=b&…` of the request's query, or "". */
export function queryString(request: UpstreamRequest): string {
  return request.query ? `?${new URLSearchParams(request.query).toString()}` : "";
}

/** Joins base URL and path, tolerating a base that already ends in `/v1` (the usual OpenAI SDK base URL). */
export function joinUrl(baseUrl: string, path: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  if (base.endsWith("/v1") && path.startsWith("/v1/")) return base + path.slice(3);
  return base + path;
}

/** Where a base URL sends requests: undici's origin and the path prefix, parsed once per base URL. */
interface BaseParts {
  readonly origin: string;
  readonly prefix: string;
}

const baseParts = new Map<string, BaseParts | null>();
const BASE_PARTS_LIMIT = 1_000;
/** Paths a URL parser leaves exactly as they are (no dot segments, nothing to percent-encode). */
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;

/**
 * Splits a request URL into undici's `origin` and `path` without parsing a URL per request (that parse was ~1% of
 * the gateway's CPU): the base URL is parsed once and cached. Anything unusual (credentials in the URL, a query
 * or fragment in the base, a path a URL parser would rewrite) gets null, and the caller passes the full URL.
 * Exported for its equivalence test.
 */
export function splitTarget(baseUrl: string, path: string, query: string): { origin: string; path: string } | null {
  let parts = baseParts.get(baseUrl);
  if (parts === undefined) {
    parts = null;
    try {
      const url = new URL(baseUrl.replace(/\/+$/, ""));
      if (!url.username && !url.password && !url.search && !url.hash && (url.protocol === "http:" || url.protocol === "https:")) {
        parts = { origin: url.origin, prefix: url.pathname === "/" ? "" : url.pathname };
      }
    } catch {
      // Not a URL: undici reports it on the slow path, as before.
    }
    if (baseParts.size >= BASE_PARTS_LIMIT) baseParts.clear();
    baseParts.set(baseUrl, parts);
  }
  if (!parts) return null;
  const full = joinUrl(parts.prefix, path);
  if (!full.startsWith("/") || !PLAIN_PATH.test(full) || DOT_SEGMENT.test(full)) return null;
  return { origin: parts.origin, path: full + query };
}

/** The headers every upstream request carries: the target's extra headers, auth, `accept`, the request id, the body type. */
export function outboundHeaders(request: UpstreamRequest, multipart: boolean): Record<string, string> {
  const context = request.context;
  // Spreads only when a service record adds headers (rare): they cost ~0.3 µs per call in profiles. A connector's own
  // auth header names are constants, so copying them by assignment is the same as spreading them.
  const headers: Record<string, string> = context.target.headers ? { ...context.target.headers, ...request.authHeaders } : Object.assign({}, request.authHeaders);
  headers.accept = "application/json, text/event-stream, application/x-ndjson";
  if (context.requestId) headers["x-request-id"] = context.requestId;
  // W3C `traceparent` of the gateway's attempt span, when the request is traced (tracing/spans.ts).
  injectTraceHeaders(headers);
  if (request.body !== undefined && !multipart) headers["content-type"] = "application/json";
  return headers;
}

/**
 * The one debug line per answer: method, path, status and the latency since `startedAt` (never headers or bodies).
 * The clock is read only when there is a logger.
 */
export function logAnswered(request: UpstreamRequest, status: number, startedAt: number): void {
  request.context.logger?.debug({ provider: request.provider, method: request.method, path: request.path, status, latencyMs: Math.round(performance.now() - startedAt) }, "upstream answered");
}
