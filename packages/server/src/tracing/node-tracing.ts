/**
 * @module tracing/node-tracing
 * Starts a node's OpenTelemetry tracing (docs/operations/tracing.md): a tracer provider of its own (resource: the
 * configured service name, version and the node's key id), parent-based ratio sampling, and OTLP/HTTP export when an
 * endpoint is configured. The SDK, exporter and propagator are imported only here and only when `tracing.enabled`:
 * every test and every node without tracing loads just `@opentelemetry/api`, which stays a no-op.
 *
 * The provider is deliberately not registered as the process's global one: tests run two nodes in one process, each
 * with its own resource and exporter. The node's tracer travels instead in the active context (tracing/spans.ts),
 * put there by the entry points that know the node (HTTP requests, KLP sessions). Only the context manager
 * (AsyncLocalStorage) is process-wide, as OpenTelemetry requires; it is set once by the first node that traces.
 */
import { context, type TextMapPropagator, type Tracer } from "@opentelemetry/api";
import type { Config } from "../config/config-schema.js";
import { waitAtMost } from "../wait-at-most.js";
import type { Logger } from "../logging/logger.js";
import { endpointForLog, reportingExporter, type ExportTrouble } from "./reporting-exporter.js";

/** A running node's tracing: its tracer, the W3C propagator, and the export's flush and shutdown. */
export interface NodeTracing {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  /** Where spans are exported (undefined: spans are made and propagated, but not exported). */
  readonly endpoint: string | undefined;
  /** The share of new traces recorded (`tracing.sampleRatio`). */
  readonly sampleRatio: number;
  /** Whether spans cannot be exported now (since when, why); undefined while they are, or without an endpoint. */
  exportTrouble(): ExportTrouble | undefined;
  /** Exports what is buffered now. */
  flush(): Promise<void>;
  /** Exports what is buffered and stops (the node's close). */
  close(): Promise<void>;
}

export interface StartTracingOptions {
  settings: Config["tracing"];
  /** `service.instance.id`: which node (of several with one service name) made a span. */
  instanceId: string;
  version: string;
  /** The environment read for the standard OTEL_EXPORTER_OTLP_* and OTEL_BSP_* variables. */
  env: Readonly<Record<string, string | undefined>>;
  /** Told what tracing does at start, and when export fails and recovers (reporting-exporter.ts). */
  logger?: Logger;
}

let contextManagerSet = false;
/** How long a stopping node waits for its last spans to be exported. */
const CLOSE_TIMEOUT_MS = 3000;

/** The OTLP/HTTP traces URL: the configured one, else the standard variables (the generic one gets `/v1/traces`). */
export function exportEndpoint(settings: Config["tracing"], env: StartTracingOptions["env"]): string | undefined {
  if (settings.otlpEndpoint) return settings.otlpEndpoint;
  // The per-signal variable is the whole URL, used as given (OTLP exporter specification).
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? tracesUrlOf(base) : undefined;
}

/**
 * The base endpoint with `v1/traces` appended to its path (OTLP exporter specification: `http://c:4318/mypath` exports
 * to `http://c:4318/mypath/v1/traces`). Appended to the path, not the text: a query string (a collector's key, say) or a
 * fragment stays after it, where appending to the text would have put the path inside the query.
 */
function tracesUrlOf(base: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    // Not a URL: the exporter refuses it, and says so (reporting-exporter.ts); kept as the text would read.
    return `${base.replace(/\/+$/, "")}/v1/traces`;
  }
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/traces`;
  return url.href;
}

/** A positive integer from the environment, or undefined (the SDK's default applies). */
function envInteger(env: StartTracingOptions["env"], name: string): number | undefined {
  const value = Number(env[name]);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

/** The node's tracing, or undefined when `tracing.enabled` is off (nothing is loaded then). */
export async function startTracing(options: StartTracingOptions): Promise<NodeTracing | undefined> {
  const { settings, env } = options;
  if (!settings.enabled) {
    // An endpoint without `enabled` is a half-done setup that otherwise fails silently: no spans, no line saying why.
    const endpoint = exportEndpoint(settings, env);
    if (endpoint !== undefined) {
      const from = settings.otlpEndpoint ? "tracing.otlpEndpoint is" : env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is" : "OTEL_EXPORTER_OTLP_ENDPOINT is";
      options.logger?.warn({ endpoint: endpointForLog(endpoint) }, `tracing is off: ${from} set but tracing.enabled is not true, so no spans are made or exported (set tracing.enabled: true to export them)`);
    }
    return undefined;
  }
  const [sdk, resources, core, hooks] = await Promise.all([
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/core"),
    import("@opentelemetry/context-async-hooks"),
  ]);
  if (!contextManagerSet) {
    // Process-wide by OpenTelemetry's design; child spans nest through async calls only with it.
    context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
    contextManagerSet = true;
  }
  const endpoint = exportEndpoint(settings, env);
  const processors: InstanceType<typeof sdk.BatchSpanProcessor>[] = [];
  let exportTrouble: () => ExportTrouble | undefined = () => undefined;
  if (endpoint) {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    const delay = envInteger(env, "OTEL_BSP_SCHEDULE_DELAY");
    const exporter = new OTLPTraceExporter({ url: endpoint });
    const reporting = options.logger ? reportingExporter(exporter, endpoint, options.logger) : undefined;
    if (reporting) exportTrouble = reporting.trouble;
    processors.push(new sdk.BatchSpanProcessor(reporting ?? exporter, delay !== undefined ? { scheduledDelayMillis: delay } : {}));
  }
  options.logger?.info(
    { endpoint: endpoint === undefined ? null : endpointForLog(endpoint), sampleRatio: settings.sampleRatio, serviceName: settings.serviceName },
    endpoint === undefined ? "tracing on: spans are made and traceparent passed on, not exported (no OTLP endpoint)" : "tracing on: spans exported over OTLP/HTTP",
  );
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ "service.name": settings.serviceName, "service.version": options.version, "service.instance.id": options.instanceId }),
    // A caller's sampled flag is followed; new traces are kept at the configured ratio.
    sampler: new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(settings.sampleRatio) }),
    spanProcessors: processors,
  });
  return {
    tracer: provider.getTracer("kai", options.version),
    propagator: new core.W3CTraceContextPropagator(),
    endpoint,
    sampleRatio: settings.sampleRatio,
    exportTrouble: () => exportTrouble(),
    flush: () => provider.forceFlush(),
    // A collector that does not answer must not hold up the node's stop (the exporter's own timeout is 10 s).
    close: async () => void (await waitAtMost(provider.shutdown(), CLOSE_TIMEOUT_MS)),
  };
}
