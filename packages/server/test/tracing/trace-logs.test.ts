/**
 * From a trace to its log lines and back, through a real node with tracing on: every traced answer names its trace
 * (`traceresponse`, W3C Trace Context Level 2), an error's body too (`traceId`); `GET /api/logs?traceId=` gives that
 * trace's lines and no other's, whether the id is given in capitals or not; the listing says where traces are shown (`tracing.traceUrl`, a live setting). With
 * tracing off, no answer names a trace. The log files are searched by trace too (`GET /api/logs/search`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogListResponseSchema, LogSearchResponseSchema, logEntryTraceId } from "@kai/protocol";
import { startTestServer, type TestServer } from "../helpers/test-server.js";

const TRACE_URL = "https://jaeger.example/trace/{traceId}?uiFind=kai";
const CALLER_TRACE = "6bf92f3577b34da6a3ce929d0e0e4738";
const OTHER_TRACE = "7af7651916cd43dd8448eb211c80319d";

let server: TestServer;

beforeAll(async () => {
  // No otlpEndpoint: spans are made and their ids travel and are logged, nothing is exported.
  server = await startTestServer({ config: { tracing: { enabled: true, sampleRatio: 1, traceUrl: TRACE_URL } } });
});
afterAll(async () => {
  await server?.dispose();
});

async function logs(query: string): Promise<ReturnType<typeof LogListResponseSchema.parse>> {
  const response = await server.request(`/api/logs?${query}`);
  expect(response.status).toBe(200);
  return LogListResponseSchema.parse(await response.json());
}

describe("a trace's log lines", () => {
  it("names the caller's trace in traceresponse, and lists that trace's lines and no other's", async () => {
    const joined = await server.request("/api/services", { headers: { traceparent: `00-${CALLER_TRACE}-00f067aa0ba902b7-01`, "x-request-id": "traced-one" } });
    expect(joined.status).toBe(200);
    const header = joined.headers.get("traceresponse");
    expect(header).toMatch(new RegExp(`^00-${CALLER_TRACE}-[0-9a-f]{16}-01$`));
    // The node's own span, not the caller's.
    expect(header!.split("-")[2]).not.toBe("00f067aa0ba902b7");
    const other = await server.request("/api/services", { headers: { traceparent: `00-${OTHER_TRACE}-b7ad6b7169203331-01`, "x-request-id": "traced-other" } });
    expect(other.headers.get("traceresponse")?.split("-")[1]).toBe(OTHER_TRACE);

    const listed = await logs(`traceId=${CALLER_TRACE}`);
    expect(listed.entries.length).toBeGreaterThan(0);
    expect(listed.entries.every((entry) => logEntryTraceId(entry) === CALLER_TRACE)).toBe(true);
    expect(listed.entries.some((entry) => entry.requestId === "traced-one")).toBe(true);
    expect(listed.entries.some((entry) => entry.requestId === "traced-other")).toBe(false);
    expect(listed.traceUrl).toBe(TRACE_URL);
  });

  it("gives a request that brought no traceparent a trace of its own, named in the answer and its lines", async () => {
    const answer = await server.request("/api/services", { headers: { "x-request-id": "fresh-trace" } });
    const traceId = answer.headers.get("traceresponse")?.split("-")[1];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const listed = await logs(`traceId=${traceId}`);
    expect(listed.entries.map((entry) => entry.requestId)).toContain("fresh-trace");
  });

  it("puts the trace id in an error's body, the same as the header's", async () => {
    const failed = await server.request("/api/services/no-such-service", { headers: { traceparent: `00-${CALLER_TRACE}-00f067aa0ba902b7-01` } });
    expect(failed.status).toBe(404);
    const body = (await failed.json()) as { error: { code: string; traceId?: string; requestId?: string } };
    expect(body.error.code).toBe("not_found");
    expect(body.error.traceId).toBe(CALLER_TRACE);
    expect(failed.headers.get("traceresponse")?.split("-")[1]).toBe(CALLER_TRACE);
  });

  it("takes a trace id in capitals as the same id, in the list, the stream and the file search", async () => {
    // A trace viewer may show an id in capitals; hex names the same id in either case (tracing.md).
    const upper = CALLER_TRACE.toUpperCase();
    const listed = await logs(`traceId=${upper}`);
    expect(listed.entries.map((entry) => entry.requestId)).toContain("traced-one");
    expect(listed.entries.every((entry) => logEntryTraceId(entry) === CALLER_TRACE)).toBe(true);
    const mixed = await logs(`traceId=${CALLER_TRACE.slice(0, 16).toUpperCase()}${CALLER_TRACE.slice(16)}`);
    expect(mixed.entries.map((entry) => entry.seq)).toEqual(listed.entries.map((entry) => entry.seq));
    const searched = await server.request(`/api/logs/search?traceId=${upper}`);
    expect(searched.status).toBe(200);
    expect(LogSearchResponseSchema.parse(await searched.json()).entries.map((entry) => entry.requestId)).toContain("traced-one");
    const controller = new AbortController();
    const stream = await fetch(`${server.url}/api/logs/stream?traceId=${upper}&after=0`, { headers: { authorization: `Bearer ${server.adminToken}` }, signal: controller.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let text = "";
    while (!text.includes('"traced-one"')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
  });

  it("refuses a trace id that is not one (400, naming the field)", async () => {
    for (const bad of ["xyz", "6BF92F3577B34DA6A3CE929D0E0E473G", "0".repeat(32), `${CALLER_TRACE}0`]) {
      const response = await server.request(`/api/logs?traceId=${bad}`);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { code: string; details?: Array<{ path: string }> } };
      expect(body.error.code).toBe("validation_failed");
      expect(body.error.details?.map((detail) => detail.path).join(" ")).toContain("traceId");
    }
    const stream = await server.request(`/api/logs/stream?traceId=nope`);
    expect(stream.status).toBe(400);
  });

  it("finds a trace's lines in the log files as well (GET /api/logs/search), and refuses a window that ends before it starts", async () => {
    const traced = await server.request("/api/services/in-the-files", { headers: { traceparent: `00-${CALLER_TRACE}-00f067aa0ba902b7-01`, "x-request-id": "traced-files" } });
    expect(traced.status).toBe(404);
    const response = await server.request(`/api/logs/search?traceId=${CALLER_TRACE}`);
    expect(response.status).toBe(200);
    const found = LogSearchResponseSchema.parse(await response.json());
    expect(found.complete).toBe(true);
    expect(found.files).toBeGreaterThan(0);
    expect(found.traceUrl).toBe(TRACE_URL);
    expect(found.entries.map((entry) => entry.requestId)).toEqual(expect.arrayContaining(["traced-one", "traced-files"]));
    expect(found.entries.every((entry) => logEntryTraceId(entry) === CALLER_TRACE)).toBe(true);
    expect(found.entries.some((entry) => entry.requestId === "traced-other")).toBe(false);
    const backwards = await server.request("/api/logs/search?since=2026-12-08T00:00:00Z&until=2026-12-07T00:00:00Z");
    expect(backwards.status).toBe(400);
    expect((await server.request("/api/logs/search?traceId=nope")).status).toBe(400);
  });

  it("changes tracing.traceUrl live, and refuses one without {traceId} or not http(s)", async () => {
    const next = "http://tempo.internal:3200/explore?trace={traceId}";
    const patched = await server.request("/api/config", { method: "PATCH", json: { settings: { "tracing.traceUrl": next } } });
    expect(patched.status).toBe(200);
    expect((await logs("limit=1")).traceUrl).toBe(next);
    for (const bad of ["https://jaeger.example/trace/", "javascript:alert('{traceId}')", "ftp://host/{traceId}"]) {
      const refused = await server.request("/api/config", { method: "PATCH", json: { settings: { "tracing.traceUrl": bad } } });
      expect(refused.status).toBe(400);
    }
    expect((await logs("limit=1")).traceUrl).toBe(next);
  });
});

describe("with tracing off", () => {
  it("names no trace in an answer, an error's body or the listing", async () => {
    const plain = await startTestServer();
    try {
      const answer = await plain.request("/api/services", { headers: { traceparent: `00-${CALLER_TRACE}-00f067aa0ba902b7-01` } });
      expect(answer.headers.get("traceresponse")).toBeNull();
      const failed = await plain.request("/api/services/no-such-service");
      expect(((await failed.json()) as { error: Record<string, unknown> }).error.traceId).toBeUndefined();
      const listed = LogListResponseSchema.parse(await (await plain.request("/api/logs?limit=1")).json());
      expect(listed.traceUrl).toBeUndefined();
      expect(LogSearchResponseSchema.parse(await (await plain.request("/api/logs/search?limit=1")).json()).traceUrl).toBeUndefined();
    } finally {
      await plain.dispose();
    }
  });
});

describe("a node that writes no log files", () => {
  it("answers a search of its files with 404, saying why", async () => {
    const quiet = await startTestServer({ config: { logging: { file: false } } });
    try {
      const response = await quiet.request("/api/logs/search");
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain("logging.file: false");
    } finally {
      await quiet.dispose();
    }
  });
});
