/**
 * A collector that is down (tracing/reporting-exporter.ts): the node says so once, with the endpoint (never its user,
 * password or query) and the reason, keeps quiet while it stays down, and says when spans are exported again, how
 * many batches were lost; against the real OTLP receiver (test/helpers/otlp-receiver.ts), started late on the port the
 * node was pointed at. At start the node's log says where spans go.
 */
import { createServer, type AddressInfo } from "node:net";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { startTracing, type NodeTracing } from "../../src/tracing/node-tracing.js";
import { endpointForLog } from "../../src/tracing/reporting-exporter.js";
import { activeTraceIds, inSpan } from "../../src/tracing/spans.js";
import { requestScopeFields, runInRequestScope } from "../../src/logging/request-scope.js";
import { startOtlpReceiver, type OtlpReceiver } from "../helpers/otlp-receiver.js";

const CANARY = "canary-otlp-secret-7f3a";
/** The exporter's own deadline for one export, retries included, as the OTLP exporter reads it from the environment. */
const TIMEOUT_VARIABLE = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let tracing: NodeTracing | undefined;
let receiver: OtlpReceiver | undefined;
const timeoutBefore = process.env[TIMEOUT_VARIABLE];
// A second, not the default ten, while the collector is down. The forks run several files each (vitest.config.ts):
// the variable is put back after this one.
process.env[TIMEOUT_VARIABLE] = "1000";
afterAll(async () => {
  if (timeoutBefore === undefined) delete process.env[TIMEOUT_VARIABLE];
  else process.env[TIMEOUT_VARIABLE] = timeoutBefore;
  await tracing?.close();
  await receiver?.close();
});

describe("spans that cannot be exported", () => {
  it("are said once while the collector is down, and its return is said too", { timeout: 30_000 }, async () => {
    const lines: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
    // The node's own mixin: a line written inside a span carries its ids, one written while a request is served its id.
    const logger = pino(
      { level: "info", mixin: (_line, _level, writer) => ({ ...activeTraceIds(), ...requestScopeFields(writer) }) },
      new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) }),
    );
    const port = await freePort();
    const endpoint = `http://kai:${CANARY}@127.0.0.1:${port}/v1/traces`;
    tracing = await startTracing({ settings: { enabled: true, otlpEndpoint: endpoint, sampleRatio: 1, serviceName: "down-collector" }, instanceId: "down", version: "test", env: {}, logger });
    const node = tracing!;
    expect(lines.find((line) => line.msg === "tracing on: spans exported over OTLP/HTTP")).toMatchObject({ endpoint: `http://127.0.0.1:${port}/v1/traces`, sampleRatio: 1 });

    // The exporter gives up after its timeout, then each flush fails (what the log says is checked below). The first
    // export runs inside a request's span, as one set off by the batch timer may.
    await inSpan(node, "first", {}, async () => undefined);
    // Set off while some request is served, as the batch timer is (its first span's request).
    await new Promise<void>((resolve) =>
      runInRequestScope("an-unrelated-request", () => void inSpan(node, "flushing", {}, () => node.flush().catch(() => undefined)).then(() => resolve())),
    );
    await inSpan(node, "second", {}, async () => undefined);
    await node.flush().catch(() => undefined);
    const failures = lines.filter((line) => line.msg.startsWith("tracing: spans could not be exported"));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 40, endpoint: `http://127.0.0.1:${port}/v1/traces`, spans: 1 });
    expect(String(failures[0]!.reason)).toMatch(/ECONNREFUSED/);
    // Said outside any trace and any request: the spans it is about belong to many.
    expect(failures[0]!.trace_id).toBeUndefined();
    expect(failures[0]!.requestId).toBeUndefined();

    receiver = await startOtlpReceiver(port);
    await inSpan(node, "after", {}, async () => undefined);
    await node.flush();
    expect(receiver.spans.map((span) => span.name)).toEqual(["after"]);
    expect(lines.find((line) => line.msg === "tracing: spans are exported again")).toMatchObject({ level: 30, failedBatches: 2, droppedSpans: 3 });
    expect(JSON.stringify(lines)).not.toContain(CANARY);
  });

  it("are said to be off when an endpoint is set but tracing.enabled is not (a half-done setup, silent before)", async () => {
    const lines: Array<{ level: number; msg: string; [key: string]: unknown }> = [];
    const logger = pino({ level: "info" }, new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
    const off = await startTracing({ settings: { enabled: false, otlpEndpoint: `http://kai:${CANARY}@127.0.0.1:9/v1/traces`, sampleRatio: 1, serviceName: "off" }, instanceId: "off", version: "test", env: {}, logger });
    expect(off).toBeUndefined();
    expect(lines).toEqual([expect.objectContaining({ level: 40, endpoint: "http://127.0.0.1:9/v1/traces", msg: expect.stringContaining("tracing is off: tracing.otlpEndpoint is set but tracing.enabled is not true") })]);
    const byVariable = await startTracing({ settings: { enabled: false, sampleRatio: 1, serviceName: "off" }, instanceId: "off", version: "test", env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" }, logger });
    expect(byVariable).toBeUndefined();
    expect(lines[1]?.msg).toContain("OTEL_EXPORTER_OTLP_ENDPOINT is set but tracing.enabled is not true");
    // Nothing configured: nothing to say.
    await startTracing({ settings: { enabled: false, sampleRatio: 1, serviceName: "off" }, instanceId: "off", version: "test", env: {}, logger });
    expect(lines).toHaveLength(2);
    expect(JSON.stringify(lines)).not.toContain(CANARY);
  });

  it("name their endpoint without what may hold a key: user, password, query", () => {
    expect(endpointForLog(`https://user:${CANARY}@collector.example:4318/v1/traces?api_key=${CANARY}#x`)).toBe("https://collector.example:4318/v1/traces");
    expect(endpointForLog(`not a url ${CANARY}`)).toBe("(an endpoint that is not a URL)");
  });
});
