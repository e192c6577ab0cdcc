/**
 * @module gateway/upstream-http
 * The single way connectors talk HTTP to a provider. It links the caller's AbortSignal to the request so a
 * client that leaves cancels the upstream call, enforces the header/body timeout and the size limit of a buffered
 * answer (`maxResponseBytes`), maps failures to `UpstreamError`, and validates JSON bodies with a zod schema.
 *
 * It uses undici's `request` over one keep-alive Agent rather than the global `fetch`: measured in
 * bench/gateway, WHATWG fetch (web streams, Response and AbortSignal objects per call) was half of the
 * gateway's CPU per request. `request` hands back a Node stream and plain header objects.
 */
import { EventEmitter } from "node:events";
import { Agent, request as undiciRequest, type Dispatcher } from "undici";
import { parseJson } from "@kai/protocol";
import type { z } from "zod";
import type { CallContext, UpstreamTarget } from "./connector.js";
import { UpstreamError, errorFromException, errorFromStatus, responseTooLarge, scrubHeaderValues, type AbortCause } from "./upstream-error.js";
import { dispatchBuffered } from "./upstream-dispatch.js";
import { collectBounded, decodeText, type BoundedBody } from "../bounded-read.js";

// Moved to upstream-error (shared with upstream-dispatch); re-exported for the connectors and readers that import them here.
export { errorFromException, type AbortCause } from "./upstream-error.js";

export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** The most bytes of one answer (or one stream event or line) held in memory when the caller sets no limit. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** A health probe discards the body: it reads this much at most, then drops the connection. */
const HEALTH_BODY_BYTES = 64 * 1024;

/** One upstream request as a connector describes it. */
export interface UpstreamRequest {
  /** Connector display name, used in error messages. */
  readonly provider: string;
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path below the base URL, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** Query parameters, encoded and appended to the path (never put a credential here: URLs get logged). */
  readonly query?: Readonly<Record<string, string>>;
  /** JSON-serialised, except a `FormData`, which fetch sends as multipart with its own boundary. */
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

/** What connectors and readers need of an upstream answer. */
export interface UpstreamResponse {
  readonly status: number;
  /** A response header (first value when repeated). */
  header(name: string): string | undefined;
  /** The body as it arrives; leaving the iteration early closes the connection. */
  readonly body: AsyncIterable<Uint8Array>;
  /** The whole body as text; rejects with `upstream_invalid_response` (and closes the connection) beyond the call's `maxResponseBytes`. */
  text(): Promise<string>;
  /** The whole body; the same limit as `text()`. */
  bytes(): Promise<Uint8Array>;
}

/**
 * Connections to providers, kept alive and shared by every connector. Redirects are never followed (the
 * request API does not, by default): following one would re-send auth headers to wherever it points.
 */
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

/** An upstream response whose headers arrived with a success status. */
export interface OpenedUpstream {
  readonly response: UpstreamResponse;
  readonly headersLatencyMs: number;
  readonly startedAt: number;
  /** Aborts the connection (idempotent); `cause` is reported by `abortCause()`. */
  abort(cause: AbortCause): void;
  abortCause(): AbortCause | undefined;
  /** Stops the header/body timeout; streams switch to the idle timeout instead. */
  clearTimeout(): void;
  /** The body was read to its end: stop the timer and let go of the caller's signal (no abort needed). */
  finish(): void;
}

/** Joins base URL and path, tolerating a base that already ends in `/v1` (the usual OpenAI SDK base URL). */
export function joinUrl(baseUrl: string, path: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  if (base.endsWith("/v1") && path.startsWith("/v1/")) return base + path.slice(3);
  return base + path;
}

/**
 * One attempt's cancellation: the header/body timeout, the caller's cancellation, and our own aborts, in one
 * object that undici takes as its `signal` (undici accepts an EventEmitter there). Cheaper than an
 * AbortController plus listeners per attempt, which profiles showed on every request.
 */
class AttemptAbort extends EventEmitter {
  aborted = false;
  cause: AbortCause | undefined;
  private timer: NodeJS.Timeout | null;
  private detach: (() => void) | null = null;

  constructor(context: CallContext) {
    super();
    this.timer = setTimeout(onAttemptTimeout, context.timeoutMs ?? DEFAULT_TIMEOUT_MS, this);
    const onCallerAbort = () => this.abort("cancelled");
    if (context.cancel) this.detach = context.cancel.onAbort(onCallerAbort);
    else if (context.signal) {
      const signal = context.signal;
      signal.addEventListener("abort", onCallerAbort, { once: true });
      this.detach = () => signal.removeEventListener("abort", onCallerAbort);
    }
  }

  /** Aborts the connection (idempotent); the first cause is the one reported. */
  abort(why: AbortCause): void {
    if (this.cause === undefined) this.cause = why;
    if (this.aborted) return;
    this.aborted = true;
    this.release();
    this.emit("abort");
  }

  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Stops the timer and lets go of the caller's cancellation. */
  release(): void {
    this.stopTimer();
    this.detach?.();
    this.detach = null;
  }
}

function onAttemptTimeout(call: AttemptAbort): void {
  call.abort("timeout");
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
function outboundHeaders(request: UpstreamRequest, multipart: boolean): Record<string, string> {
  const context = request.context;
  // Spreads only when a service record adds headers (rare): they cost ~0.3 µs per call in profiles. A connector's own
  // auth header names are constants, so copying them by assignment is the same as spreading them.
  const headers: Record<string, string> = context.target.headers ? { ...context.target.headers, ...request.authHeaders } : Object.assign({}, request.authHeaders);
  headers.accept = "application/json, text/event-stream, application/x-ndjson";
  if (context.requestId) headers["x-request-id"] = context.requestId;
  if (request.body !== undefined && !multipart) headers["content-type"] = "application/json";
  return headers;
}

/** Sends the request; resolves once headers arrived with 2xx, otherwise throws an `UpstreamError`. */
export async function openUpstream(request: UpstreamRequest): Promise<OpenedUpstream> {
  const { context, provider } = request;
  if (context.cancel ? context.cancel.aborted : context.signal?.aborted) throw new UpstreamError("request_cancelled", `request to ${provider} cancelled by the caller`);
  const call = new AttemptAbort(context);

  const multipart = request.body instanceof FormData;
  const headers = outboundHeaders(request, multipart);
  const startedAt = performance.now();
  const query = request.query ? `?${new URLSearchParams(request.query).toString()}` : "";
  let answer: Dispatcher.ResponseData;
  try {
    const body = request.body === undefined ? undefined : multipart ? await encodeMultipart(request.body as FormData, headers) : JSON.stringify(request.body);
    const target = splitTarget(context.target.baseUrl, request.path, query);
    answer = target
      ? await agent.request({ origin: target.origin, path: target.path, method: request.method, headers, body, signal: call })
      : await undiciRequest(joinUrl(context.target.baseUrl, request.path) + query, { dispatcher: agent, method: request.method, headers, body, signal: call });
  } catch (error) {
    call.release();
    throw errorFromException(provider, error, call.cause, context.target.credential);
  }
  const response = upstreamResponse(answer, provider, context.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
  const headersLatencyMs = performance.now() - startedAt;
  context.logger?.debug({ provider, method: request.method, path: request.path, status: response.status, latencyMs: Math.round(headersLatencyMs) }, "upstream answered");
  if (response.status < 200 || response.status >= 300) {
    let text = "";
    try {
      text = await response.text();
    } catch {
      // The status alone is enough to classify the error.
    }
    call.release();
    const failure = errorFromStatus(provider, response.status, scrubHeaderValues(text, context.target.headers), response.header("retry-after") ?? null, context.target.credential);
    context.logger?.warn({ provider, path: request.path, status: response.status, code: failure.code, message: failure.message }, "upstream refused the request");
    throw failure;
  }
  return {
    response,
    headersLatencyMs,
    startedAt,
    abort: (why) => call.abort(why),
    abortCause: () => call.cause,
    clearTimeout: () => call.stopTimer(),
    finish: () => call.release(),
  };
}

/**
 * Encodes a (global) FormData as multipart bytes with the platform's own encoder (a WHATWG Response over it),
 * and sets the content type with its boundary. undici's `request` only takes its own FormData class.
 */
async function encodeMultipart(form: FormData, headers: Record<string, string>): Promise<Buffer> {
  const encoded = new Response(form);
  headers["content-type"] = encoded.headers.get("content-type") ?? "multipart/form-data";
  return Buffer.from(await encoded.arrayBuffer());
}

function upstreamResponse(answer: Dispatcher.ResponseData, provider: string, maxBytes: number): UpstreamResponse {
  const { headers, body } = answer;
  const header = (name: string) => {
    const value = headers[name.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  };
  return {
    status: answer.statusCode,
    header,
    body: body as AsyncIterable<Uint8Array>,
    text: async () => {
      const { chunks, length } = await readBounded(body, header("content-length"), maxBytes, provider);
      return decodeText(chunks, length);
    },
    bytes: async () => {
      const { chunks, length } = await readBounded(body, header("content-length"), maxBytes, provider);
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
    },
  };
}

/** The whole body within `maxBytes` (bounded-read.ts); past it the body is destroyed and the call fails. */
function readBounded(body: Dispatcher.ResponseData["body"], announced: string | undefined, maxBytes: number, provider: string): Promise<BoundedBody> {
  return collectBounded(body, announced, maxBytes, () => responseTooLarge(provider, maxBytes), () => body.destroy());
}

/**
 * Non-streaming call: sends, reads the whole body within the timeout, validates it with `schema`. Also hands back
 * the provider's text and the JSON value before validation, for connectors that relay the text as it is.
 * JSON bodies to a plain URL go through `dispatchBuffered` (no body stream per call); others through `openUpstream`.
 */
export function callJson<S extends z.ZodType>(request: UpstreamRequest, schema: S): Promise<{ data: z.output<S>; latencyMs: number; text: string; input: unknown }> {
  const body = request.body;
  const target = body instanceof FormData ? null : splitTarget(request.context.target.baseUrl, request.path, request.query ? `?${new URLSearchParams(request.query).toString()}` : "");
  if (!target) return callJsonOpened(request, schema);
  const context = request.context;
  return dispatchBuffered(agent, request, target, outboundHeaders(request, false), context.timeoutMs ?? DEFAULT_TIMEOUT_MS, context.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES).then(({ text, latencyMs }) => {
    const { input, data } = parseUpstreamValue(request.provider, text, schema);
    return { data, latencyMs, text, input };
  });
}

/** `callJson` over `openUpstream` (multipart bodies, URLs `splitTarget` leaves to undici's parser). */
async function callJsonOpened<S extends z.ZodType>(request: UpstreamRequest, schema: S): Promise<{ data: z.output<S>; latencyMs: number; text: string; input: unknown }> {
  const opened = await openUpstream(request);
  let text: string;
  try {
    text = await opened.response.text();
    opened.finish();
  } catch (error) {
    opened.abort("done");
    throw errorFromException(request.provider, error, opened.abortCause(), request.context.target.credential);
  }
  const latencyMs = performance.now() - opened.startedAt;
  const { input, data } = parseUpstreamValue(request.provider, text, schema);
  return { data, latencyMs, text, input };
}

/** Non-streaming call whose body is not (necessarily) JSON: image bytes, plain-text transcripts, webhook answers. */
export async function callBytes(request: UpstreamRequest): Promise<{ bytes: Uint8Array; contentType: string; status: number; latencyMs: number }> {
  const opened = await openUpstream(request);
  let bytes: Uint8Array;
  try {
    bytes = await opened.response.bytes();
    opened.finish();
  } catch (error) {
    opened.abort("done");
    throw errorFromException(request.provider, error, opened.abortCause(), request.context.target.credential);
  }
  const latencyMs = performance.now() - opened.startedAt;
  return { bytes, contentType: opened.response.header("content-type") ?? "", status: opened.response.status, latencyMs };
}

/** Parses and validates one upstream JSON document; a mismatch is the provider's fault, not the client's. */
export function parseUpstream<S extends z.ZodType>(provider: string, text: string, schema: S): z.output<S> {
  return parseUpstreamValue(provider, text, schema).data;
}

/** `parseUpstream`, also returning the JSON value as it was before validation (`input`). */
export function parseUpstreamValue<S extends z.ZodType>(provider: string, text: string, schema: S): { input: unknown; data: z.output<S> } {
  const parsed = parseJson(text);
  if (!parsed.ok) throw new UpstreamError("upstream_invalid_response", `${provider} sent invalid JSON: ${parsed.error}`);
  const result = schema.safeParse(parsed.value);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new UpstreamError("upstream_invalid_response", `${provider} sent an unexpected response shape (${first?.path.join(".") || "root"}: ${first?.message ?? "invalid"})`);
  }
  return { input: parsed.value, data: result.data };
}

/**
 * Health probe: any 2xx within the timeout is healthy. Never throws. The body is discarded: a short one is read to its
 * end (the connection can be reused); after `HEALTH_BODY_BYTES` the connection is dropped instead of reading on.
 */
export async function probeHealth(request: UpstreamRequest): Promise<{ ok: boolean; latencyMs: number; code?: string; message?: string }> {
  const started = performance.now();
  try {
    const opened = await openUpstream(request);
    let read = 0;
    try {
      for await (const chunk of opened.response.body) {
        read += chunk.length;
        if (read > HEALTH_BODY_BYTES) break;
      }
    } catch (error) {
      opened.abort("done");
      throw error;
    }
    if (read > HEALTH_BODY_BYTES) opened.abort("done");
    else opened.finish();
    return { ok: true, latencyMs: performance.now() - started };
  } catch (error) {
    const failure = error instanceof UpstreamError ? error : errorFromException(request.provider, error, undefined, request.context.target.credential);
    return { ok: false, latencyMs: performance.now() - started, code: failure.code, message: failure.message };
  }
}
