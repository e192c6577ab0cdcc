/**
 * @module gateway/upstream/upstream-http
 * The single way connectors talk HTTP to a provider: `callJson` (validated with a zod schema), `callBytes`,
 * `openUpstream` (for streams; read with `stream-reader`) and `probeHealth`. Each call links the caller's cancellation
 * to the request so a client that leaves cancels the upstream call, enforces the header/body timeout and the size
 * limit of a buffered answer (`maxResponseBytes`), and maps every failure to an `UpstreamError`.
 *
 * Imports point one way, down: this module → `dispatch` (buffered JSON) → `call-abort`, `upstream-request`,
 * `upstream-error`. Nothing below imports this module.
 *
 * It uses undici's `request` over one keep-alive Agent rather than the global `fetch`: measured in
 * bench/gateway, WHATWG fetch (web streams, Response and AbortSignal objects per call) was half of the
 * gateway's CPU per request. `request` hands back a Node stream and plain header objects.
 */
import { EventEmitter } from "node:events";
import { Agent, request as undiciRequest, type Dispatcher } from "undici";
import { parseJson } from "@kai/protocol";
import type { z } from "zod";
import { collectBounded, decodeText, type BoundedBody } from "../../bounded-read.js";
import { armCall, cancelledAlready, releaseCall, stopCallTimer, type AbortableCall } from "./call-abort.js";
import { dispatchBuffered } from "./dispatch.js";
import { UpstreamError, callerCancelled, errorFromException, refusal, responseTooLarge, type AbortCause } from "./upstream-error.js";
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  joinUrl,
  logAnswered,
  outboundHeaders,
  queryString,
  splitTarget,
  type UpstreamRequest,
} from "./upstream-request.js";

/** A health probe discards the body: it reads this much at most, then drops the connection. */
const HEALTH_BODY_BYTES = 64 * 1024;

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

/**
 * One opened call's cancellation (`call-abort`), in the object undici takes as its `signal` (undici accepts an
 * EventEmitter there). Cheaper than an AbortController plus listeners per attempt, which profiles showed on every
 * request.
 */
class OpenedCall extends EventEmitter implements AbortableCall {
  aborted = false;
  cause: AbortCause | undefined;
  timer: NodeJS.Timeout | null = null;
  detach: (() => void) | null = null;

  constructor(context: UpstreamRequest["context"]) {
    super();
    armCall(this, context, context.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  /** Aborts the connection (idempotent); the first cause is the one reported. */
  abort(why: AbortCause): void {
    if (this.cause === undefined) this.cause = why;
    if (this.aborted) return;
    this.aborted = true;
    releaseCall(this);
    this.emit("abort");
  }
}

/** Sends the request; resolves once headers arrived with 2xx, otherwise throws an `UpstreamError`. */
export async function openUpstream(request: UpstreamRequest): Promise<OpenedUpstream> {
  const { context, provider } = request;
  if (cancelledAlready(context)) throw callerCancelled(provider);
  const call = new OpenedCall(context);

  const multipart = request.body instanceof FormData;
  const headers = outboundHeaders(request, multipart);
  const startedAt = performance.now();
  const query = queryString(request);
  let answer: Dispatcher.ResponseData;
  try {
    const body = request.body === undefined ? undefined : multipart ? await encodeMultipart(request.body as FormData, headers) : JSON.stringify(request.body);
    const target = splitTarget(context.target.baseUrl, request.path, query);
    answer = target
      ? await agent.request({ origin: target.origin, path: target.path, method: request.method, headers, body, signal: call })
      : await undiciRequest(joinUrl(context.target.baseUrl, request.path) + query, { dispatcher: agent, method: request.method, headers, body, signal: call });
  } catch (error) {
    releaseCall(call);
    throw errorFromException(provider, error, call.cause, context.target.credential);
  }
  const response = upstreamResponse(answer, provider, context.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
  const headersLatencyMs = performance.now() - startedAt;
  logAnswered(request, response.status, startedAt);
  if (response.status < 200 || response.status >= 300) {
    let text = "";
    try {
      text = await response.text();
    } catch {
      // The status alone is enough to classify the error.
    }
    releaseCall(call);
    throw refusal(request, response.status, text, response.header("retry-after") ?? null);
  }
  return {
    response,
    headersLatencyMs,
    startedAt,
    abort: (why) => call.abort(why),
    abortCause: () => call.cause,
    clearTimeout: () => stopCallTimer(call),
    finish: () => releaseCall(call),
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
  const target = body instanceof FormData ? null : splitTarget(request.context.target.baseUrl, request.path, queryString(request));
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
