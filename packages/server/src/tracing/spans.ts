/**
 * @module tracing/spans
 * The few helpers every traced boundary uses: which node's tracing the active context belongs to, a span around an
 * async call (child of the active span), and the W3C `traceparent` put on an outgoing request or read from an
 * incoming one. Without tracing (no node in the context) each helper returns at once and adds nothing: the gateway's
 * hot path pays one context lookup.
 *
 * Spans record an error by its code or name only (status ERROR), never an exception event: those carry stack traces,
 * which stay out of everything the node sends (AGENTS.md rule 7).
 */
import { context, createContextKey, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";
import type { NodeTracing } from "./node-tracing.js";

export { SpanKind };

const NODE = createContextKey("kai.tracing.node");

/** `parent` marked as belonging to this node: spans started below it use the node's tracer. */
export function withNode(parent: Context, tracing: NodeTracing): Context {
  return parent.setValue(NODE, tracing);
}

/** The tracing of the node the context belongs to, or undefined (not traced). */
export function tracingOf(active: Context = context.active()): NodeTracing | undefined {
  return active.getValue(NODE) as NodeTracing | undefined;
}

/** The name of what an error is, for a span's status: an ApiError's code, else the error's name. */
function errorName(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") return code;
    if (error instanceof Error) return error.name;
  }
  return typeof error;
}

/** Marks a span failed with what the error is (not its message, which may quote a caller's input). */
export function failSpan(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorName(error) });
}

export interface SpanInit {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent (default: the active context). */
  parent?: Context;
}

/**
 * Runs `fn` inside a new span of `tracing` (child of the parent's span), ending it when `fn` settles; a rejection
 * marks it failed and is passed on. Without tracing, just `fn`.
 */
export async function inSpan<T>(tracing: NodeTracing | undefined, name: string, init: SpanInit, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  if (!tracing) return fn(undefined);
  const parent = withNode(init.parent ?? context.active(), tracing);
  const span = tracing.tracer.startSpan(name, { kind: init.kind ?? SpanKind.INTERNAL, ...(init.attributes ? { attributes: init.attributes } : {}) }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** `inSpan` under the active context's node, when there is one. */
export function inChildSpan<T>(name: string, init: SpanInit, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  return inSpan(tracingOf(init.parent), name, init, fn);
}

const setter = {
  set(carrier: Record<string, string>, key: string, value: string) {
    carrier[key] = value;
  },
};

/** Adds `traceparent` (and `tracestate`) of the active span to outgoing headers, when the context is traced. */
export function injectTraceHeaders(headers: Record<string, string>, active: Context = context.active()): void {
  const tracing = tracingOf(active);
  if (tracing) tracing.propagator.inject(active, headers, setter);
}

/** Headers plus the trace headers when traced: the same object when not (no copy), a copy when traced. */
export function withTraceHeaders(headers: Record<string, string>): Record<string, string> {
  const active = context.active();
  if (!tracingOf(active)) return headers;
  const copy = { ...headers };
  injectTraceHeaders(copy, active);
  return copy;
}

type IncomingHeaders = Record<string, string | string[] | undefined>;

const getter = {
  keys: (carrier: IncomingHeaders) => Object.keys(carrier),
  get(carrier: IncomingHeaders, key: string): string | string[] | undefined {
    return carrier[key.toLowerCase()];
  },
};

/**
 * The context a caller's `traceparent` names (a remote parent), marked as this node's; the root context when the
 * header is absent or malformed (the propagator ignores a bad one: the request is then a new trace).
 */
export function extractTraceContext(tracing: NodeTracing, headers: IncomingHeaders): Context {
  return withNode(tracing.propagator.extract(ROOT_CONTEXT, headers, getter), tracing);
}

/**
 * The active span's W3C `traceparent` (to keep with something that outlives the request) and its trace's id (to show
 * with it); undefined without a span.
 */
export function activeTrace(active: Context = context.active()): { traceparent: string; traceId: string } | undefined {
  const span = trace.getSpan(active);
  const ids = span?.spanContext();
  if (!ids || !trace.isSpanContextValid(ids)) return undefined;
  const headers: Record<string, string> = {};
  injectTraceHeaders(headers, active);
  const traceparent = headers["traceparent"];
  return traceparent === undefined ? undefined : { traceparent, traceId: ids.traceId };
}

/** `trace_id` and `span_id` of the active span, for a log line (the pino mixin); empty when none is active. */
export function activeTraceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const ids = span.spanContext();
  return trace.isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}
