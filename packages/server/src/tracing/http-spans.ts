/**
 * @module tracing/http-spans
 * A server span for every HTTP request (Fastify hooks): the caller's W3C `traceparent` is its parent when given; the
 * handler runs inside the span's context, so the gateway's upstream attempts, KLP messages and task steps it starts
 * are its children and carry it on. The span is named by method and route pattern and records only the pattern: no
 * path (a share link's token is in one, `/s/:token`), no query string, no header ever leaves the node in a span.
 *
 * Each traced answer says which trace it belongs to (`traceresponse`, W3C Trace Context Level 2; an error's body says
 * it too, `traceId`: http/error-handler.ts).
 *
 * At `sampleRatio` 0 only requests that bring a `traceparent` are traced (followed when their caller sampled them, and
 * their ids passed on either way); the others run with no trace at all.
 *
 * Why the context is entered in `preHandler` and not `onRequest`: the body is parsed in between, from the socket's
 * events, which would run outside a context entered earlier; `preHandler` calls the handler directly.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { context, trace, SpanStatusCode, type Context, type Span } from "@opentelemetry/api";
import type { NodeTracing } from "./node-tracing.js";
import { SpanKind, extractTraceContext } from "./spans.js";

interface RequestSpan {
  span: Span;
  context: Context;
}

const spans = new WeakMap<FastifyRequest, RequestSpan>();

/** The trace id of a request's span (for its request log line, written after the handler's context is left). */
export function requestTraceIds(request: FastifyRequest): { trace_id?: string; span_id?: string } {
  const entry = spans.get(request);
  if (!entry) return {};
  const ids = entry.span.spanContext();
  return trace.isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}

function end(request: FastifyRequest, status: number | undefined): void {
  const entry = spans.get(request);
  if (!entry) return;
  spans.delete(request);
  if (status !== undefined) {
    entry.span.setAttribute("http.response.status_code", status);
    if (status >= 500) entry.span.setStatus({ code: SpanStatusCode.ERROR });
  } else {
    entry.span.setStatus({ code: SpanStatusCode.ERROR, message: "request aborted" });
  }
  entry.span.end();
}

export function installRequestSpans(app: FastifyInstance, tracing: NodeTracing): void {
  // Callback-style hooks, as the request log's: an async hook costs a promise per request.
  // At ratio 0 a request without a caller's trace would make a span never recorded; skipping it (and so every span
  // under it) saves what sampled-out spans cost: ~5 % of the gateway path's CPU, measured (docs/benchmarks.md).
  const traceEveryRequest = tracing.sampleRatio > 0;
  app.addHook("onRequest", (request, reply, done) => {
    if (!traceEveryRequest && request.headers.traceparent === undefined) {
      done();
      return;
    }
    const parent = extractTraceContext(tracing, request.headers);
    const route = request.routeOptions.url;
    const span = tracing.tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "http.request.method": request.method,
          ...(route ? { "http.route": route } : {}),
          "kai.request_id": request.id,
        },
      },
      parent,
    );
    spans.set(request, { span, context: trace.setSpan(parent, span) });
    // W3C Trace Context Level 2's `traceresponse`: the caller learns which trace its request joined (and the node's
    // span in it), also when it sent no `traceparent`. Ids only, never anything of the request.
    const ids = span.spanContext();
    if (trace.isSpanContextValid(ids)) reply.header("traceresponse", `00-${ids.traceId}-${ids.spanId}-${(ids.traceFlags & 0xff).toString(16).padStart(2, "0")}`);
    done();
  });
  app.addHook("preHandler", (request, _reply, done) => {
    const entry = spans.get(request);
    if (entry) context.with(entry.context, done);
    else done();
  });
  app.addHook("onResponse", (request, reply, done) => {
    end(request, reply.statusCode);
    done();
  });
  app.addHook("onRequestAbort", (request, done) => {
    end(request, undefined);
    done();
  });
}
