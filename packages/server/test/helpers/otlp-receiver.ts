/**
 * A real OTLP/HTTP trace receiver for tests: `POST /v1/traces` with an OTLP/JSON `ExportTraceServiceRequest`, decoded
 * as the OTLP specification defines its JSON encoding (trace and span ids as hex strings, resource attributes as
 * `{ key, value: { stringValue } }`), answered `200 {}` (an `ExportTraceServiceResponse` with nothing rejected).
 * The node's exporter (`@opentelemetry/exporter-trace-otlp-http`) speaks exactly this to any collector.
 *
 * Why not the OpenTelemetry Collector: it is a Go binary, not shipped by npm or Debian, so a test on this machine or
 * CI cannot start it; no npm package ships a receiver. Any other encoding (protobuf, gzip) is refused with 415, so a
 * change of wire format fails the test instead of passing silently.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One span as it arrived, flattened with the resource it came from. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span (OTLP/JSON sends "" or leaves it out). */
  parentSpanId: string;
  name: string;
  kind: number;
  serviceName: string;
  serviceInstanceId: string;
  attributes: Record<string, unknown>;
  /** 2 = ERROR. */
  statusCode: number;
}

interface JsonValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface JsonKeyValue {
  key: string;
  value?: JsonValue;
}
interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: JsonKeyValue[];
  status?: { code?: number };
}
interface JsonExport {
  resourceSpans?: { resource?: { attributes?: JsonKeyValue[] }; scopeSpans?: { spans?: JsonSpan[] }[] }[];
}

function valueOf(value: JsonValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.boolValue !== undefined) return value.boolValue;
  return value.doubleValue;
}

function attributesOf(list: JsonKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((entry) => [entry.key, valueOf(entry.value)]));
}

const HEX_TRACE = /^[0-9a-f]{32}$/;
const HEX_SPAN = /^[0-9a-f]{16}$/;

export interface OtlpReceiver {
  /** The traces endpoint to configure (`tracing.otlpEndpoint`). */
  url: string;
  spans: ReceivedSpan[];
  /** Exports that were not valid OTLP/JSON (each a reason): a test expects none. */
  rejected: string[];
  /** Each export's request target as it arrived (path and query): where an exporter sent it. */
  targets: string[];
  close(): Promise<void>;
}

/** `port`: listen there (a test that first points a node at a collector that is not up yet); default a free one. */
export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const targets: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const refuse = (status: number, reason: string) => {
        rejected.push(reason);
        response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ code: 3, message: reason }));
      };
      targets.push(request.url ?? "");
      // The path only: a collector behind a gateway may be given a key in the query (OTEL_EXPORTER_OTLP_ENDPOINT).
      if (request.method !== "POST" || request.url?.split("?", 1)[0] !== "/v1/traces") return refuse(404, `${request.method} ${request.url}`);
      if (!String(request.headers["content-type"]).startsWith("application/json")) return refuse(415, `content-type ${request.headers["content-type"]}`);
      if (request.headers["content-encoding"] && request.headers["content-encoding"] !== "identity") return refuse(415, `content-encoding ${request.headers["content-encoding"]}`);
      let body: JsonExport;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as JsonExport;
      } catch {
        return refuse(400, "not JSON");
      }
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            if (!HEX_TRACE.test(span.traceId) || !HEX_SPAN.test(span.spanId) || (span.parentSpanId && !HEX_SPAN.test(span.parentSpanId))) {
              return refuse(400, `span ids not in OTLP/JSON hex: ${span.traceId}/${span.spanId}`);
            }
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? "",
              name: span.name,
              kind: span.kind ?? 0,
              serviceName: String(resource["service.name"]),
              serviceInstanceId: String(resource["service.instance.id"]),
              attributes: attributesOf(span.attributes),
              statusCode: span.status?.code ?? 0,
            });
          }
        }
      }
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const listening = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${listening}/v1/traces`,
    spans,
    rejected,
    targets,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
