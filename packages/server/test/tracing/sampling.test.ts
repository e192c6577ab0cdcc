/**
 * Sampling (tracing/node-tracing.ts) against the real OTLP receiver (test/helpers/otlp-receiver.ts): at ratio 0 a new
 * trace exports nothing, yet its ids still travel (`traceparent` with the sampled flag off) and still name log lines;
 * a caller that sampled its trace is followed (parent-based); at ratio 1 everything is exported; disabled, nothing
 * is started at all. Through a real node at ratio 0, a request without a `traceparent` is not traced at all (what
 * sampled-out spans cost is saved), one with a sampled `traceparent` is.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportEndpoint, startTracing, type NodeTracing } from "../../src/tracing/node-tracing.js";
import { activeTraceIds, extractTraceContext, inSpan, injectTraceHeaders } from "../../src/tracing/spans.js";
import { startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.js";
import { startTestServer } from "../helpers/test-server.js";

let receiver: OtlpReceiver;
const started: NodeTracing[] = [];

async function tracing(sampleRatio: number, serviceName: string): Promise<NodeTracing> {
  const node = await startTracing({ settings: { enabled: true, otlpEndpoint: receiver.url, sampleRatio, serviceName }, instanceId: serviceName, version: "test", env: {} });
  if (!node) throw new Error("tracing did not start");
  started.push(node);
  return node;
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  for (const node of started) await node.close();
  await receiver?.close();
});

describe("sampling", () => {
  it("at ratio 0 exports no new trace, but still propagates and logs its ids", async () => {
    const node = await tracing(0, "ratio-zero");
    const headers: Record<string, string> = {};
    let logged: ReturnType<typeof activeTraceIds> = {};
    await inSpan(node, "unsampled", {}, async () => {
      injectTraceHeaders(headers);
      logged = activeTraceIds();
    });
    await node.flush();
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(logged.trace_id).toBe(headers.traceparent!.split("-")[1]);
    expect(receiver.spans.filter((span) => span.serviceName === "ratio-zero")).toEqual([]);
  });

  it("at ratio 0 follows a caller that sampled its trace (parent-based)", async () => {
    const node = await tracing(0, "ratio-zero-parent");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parent = extractTraceContext(node, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    await inSpan(node, "followed", { parent }, async () => undefined);
    // A caller that did not sample: not recorded either.
    const unsampled = extractTraceContext(node, { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00" });
    await inSpan(node, "not-followed", { parent: unsampled }, async () => undefined);
    await node.flush();
    const spans = receiver.spans.filter((span) => span.serviceName === "ratio-zero-parent");
    expect(spans.map((span) => [span.name, span.traceId, span.parentSpanId])).toEqual([["followed", traceId, "00f067aa0ba902b7"]]);
  });

  it("at ratio 0 a node traces only the requests that bring a traceparent", async () => {
    const server = await startTestServer({ config: { tracing: { enabled: true, otlpEndpoint: receiver.url, sampleRatio: 0, serviceName: "http-ratio-zero" } } });
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4737";
    try {
      expect((await server.request("/api/services", { headers: { "x-request-id": "untraced-request" } })).status).toBe(200);
      // Not traced at all: its log lines carry no trace id (a sampled-out span would still give it one).
      const lines = server.logs.filter((line) => line.includes("untraced-request"));
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.filter((line) => line.includes("trace_id"))).toEqual([]);
      const followed = await server.request("/api/services", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
      expect(followed.status).toBe(200);
    } finally {
      // Closing the node exports its last spans.
      await server.dispose();
    }
    const spans = receiver.spans.filter((span) => span.serviceName === "http-ratio-zero");
    expect(spans.map((span) => [span.name, span.traceId])).toEqual([["GET /api/services", traceId]]);
  });

  it("at ratio 1 exports every span, nested by context", async () => {
    const node = await tracing(1, "ratio-one");
    await inSpan(node, "outer", {}, () => inSpan(node, "inner", {}, async () => undefined));
    await expect(inSpan(node, "failing", {}, () => Promise.reject(Object.assign(new Error("no"), { code: "upstream_timeout" })))).rejects.toThrow("no");
    await node.flush();
    const spans = receiver.spans.filter((span) => span.serviceName === "ratio-one");
    const outer = spans.find((span) => span.name === "outer")!;
    expect(spans.find((span) => span.name === "inner")).toMatchObject({ traceId: outer.traceId, parentSpanId: outer.spanId });
    expect(spans.find((span) => span.name === "failing")).toMatchObject({ statusCode: 2, parentSpanId: "" });
    // A malformed caller header is ignored: the span starts a new trace.
    await inSpan(node, "after-garbage", { parent: extractTraceContext(node, { traceparent: "00-zz-not-a-trace-01".repeat(50) }) }, async () => undefined);
    await node.flush();
    expect(receiver.spans.find((span) => span.serviceName === "ratio-one" && span.name === "after-garbage")).toMatchObject({ parentSpanId: "" });
    expect(receiver.rejected).toEqual([]);
  });

  it("disabled: nothing starts, and nothing is traced", async () => {
    expect(await startTracing({ settings: { enabled: false, sampleRatio: 1, serviceName: "off" }, instanceId: "off", version: "test", env: {} })).toBeUndefined();
    const headers: Record<string, string> = {};
    await inSpan(undefined, "nothing", {}, async () => injectTraceHeaders(headers));
    expect(headers).toEqual({});
  });
});

describe("where spans go", () => {
  const settings = { enabled: true, sampleRatio: 1, serviceName: "kai" };
  it("the configured endpoint first, then the standard variables, else nowhere", () => {
    expect(exportEndpoint({ ...settings, otlpEndpoint: "http://collector:4318/v1/traces" }, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://other:4318" })).toBe("http://collector:4318/v1/traces");
    expect(exportEndpoint(settings, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:4318/custom", OTEL_EXPORTER_OTLP_ENDPOINT: "http://other:4318" })).toBe("http://traces:4318/custom");
    expect(exportEndpoint(settings, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toBe("http://collector:4318/v1/traces");
    expect(exportEndpoint(settings, {})).toBeUndefined();
  });

  it("appends /v1/traces to the generic endpoint's path, before its query string, and exports there", async () => {
    // The OTLP rule for the base endpoint: `v1/traces` goes on its path; a query (a collector gateway's key) stays a query.
    expect(exportEndpoint(settings, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/base/?k=x" })).toBe("http://collector:4318/base/v1/traces?k=x");
    expect(exportEndpoint(settings, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318?k=x" })).toBe("http://collector:4318/v1/traces?k=x");
    // The per-signal variable is used as given, query and all.
    expect(exportEndpoint(settings, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:4318/custom?k=x" })).toBe("http://traces:4318/custom?k=x");

    const lines: Array<{ msg: string; endpoint?: unknown }> = [];
    const logger = pino({ level: "info" }, new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk)) as { msg: string }), done()) }));
    const base = receiver.url.replace("/v1/traces", "");
    const node = await startTracing({ settings: { enabled: true, sampleRatio: 1, serviceName: "query-endpoint" }, instanceId: "query-endpoint", version: "test", env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${base}?k=query-key` }, logger });
    started.push(node!);
    expect(node!.endpoint).toBe(`${base}/v1/traces?k=query-key`);
    // The start-up line names the URL spans go to (its query left out: it may hold a key).
    expect(lines.find((line) => line.msg === "tracing on: spans exported over OTLP/HTTP")?.endpoint).toBe(`${base}/v1/traces`);
    await inSpan(node, "to-a-query-endpoint", {}, async () => undefined);
    await node!.flush();
    expect(receiver.targets).toContain("/v1/traces?k=query-key");
    expect(receiver.spans.some((span) => span.name === "to-a-query-endpoint")).toBe(true);
  });
});
