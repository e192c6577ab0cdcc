// What an oversized upstream answer costs the server in memory: a 200 MiB answer against a 1 MiB limit, on every
// path that used to buffer it (callJson over dispatch and over openUpstream, callBytes, one SSE event, one NDJSON
// line). The process's RSS is sampled while each call runs; its peak must stay far below the answer's size. Growth is
// measured from one baseline taken before the first case: memory a process once took tends to stay in its RSS, so a
// per-case baseline after a case that buffered everything would hide the next one doing the same.
// The fake upstream runs in this process too, but writes with backpressure from one reused buffer.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ndjsonLines, readBody, sseEvents } from "../../src/gateway/upstream/stream-reader.js";
import { UpstreamError } from "../../src/gateway/upstream/upstream-error.js";
import { callBytes, callJson, openUpstream } from "../../src/gateway/upstream/upstream-http.js";
import { upstreamRequests } from "../../src/gateway/upstream/upstream-request.js";
import { writePadding } from "./fakes/fake-server.js";

const MiB = 1024 * 1024;
const ANSWER_BYTES = 200 * MiB;
const LIMIT = MiB;
/** Peak RSS growth allowed while refusing a 200 MiB answer: buffering it would add at least 200 MiB. */
const MAX_GROWTH = 48 * MiB;

let server: Server;
let baseUrl = "";
let baseline = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const kind = (req.url ?? "").slice(1);
      res.writeHead(200, { "content-type": kind === "sse" ? "text/event-stream" : kind === "ndjson" ? "application/x-ndjson" : "application/json" });
      if (kind === "sse") res.write("data: ");
      void writePadding(res, ANSWER_BYTES).then(() => {
        if (!res.destroyed) res.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Warm up the connection pool and the code paths before the baseline.
  await callBytes(request("GET", "/bytes", { ...context(), maxResponseBytes: 64 * 1024 })).catch(() => undefined);
  baseline = process.memoryUsage.rss();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const request = upstreamRequests("Test provider", () => ({}));
const context = () => ({ target: { baseUrl }, timeoutMs: 30_000, idleTimeoutMs: 30_000, maxResponseBytes: LIMIT });
const form = () => {
  const body = new FormData();
  body.set("field", "value");
  return body;
};

/** Runs `call`, sampling RSS every few ms; returns its error and the peak growth over the baseline. */
async function peakGrowth(call: () => Promise<unknown>): Promise<{ error: unknown; growth: number }> {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 2);
  try {
    const error = await call().then(() => undefined, (caught: unknown) => caught);
    peak = Math.max(peak, process.memoryUsage.rss());
    return { error, growth: peak - baseline };
  } finally {
    clearInterval(sampler);
  }
}

async function drainStream(events: AsyncIterable<unknown>): Promise<void> {
  for await (const event of events) expect(event).toBeDefined();
}

describe("a 200 MiB answer against a 1 MiB limit", () => {
  const cases: Array<[string, () => Promise<unknown>]> = [
    ["callJson over dispatch", () => callJson(request("GET", "/json", context()), z.unknown())],
    ["callJson over openUpstream", () => callJson(request("POST", "/json", context(), form()), z.unknown())],
    ["callBytes", () => callBytes(request("GET", "/bytes", context()))],
    [
      "one SSE event",
      async () => {
        const opened = await openUpstream(request("GET", "/sse", context()));
        try {
          await drainStream(sseEvents(readBody(opened, "Test provider", 30_000), "Test provider", LIMIT));
        } finally {
          opened.abort("done");
        }
      },
    ],
    [
      "one NDJSON line",
      async () => {
        const opened = await openUpstream(request("GET", "/ndjson", context()));
        try {
          await drainStream(ndjsonLines(readBody(opened, "Test provider", 30_000), "Test provider", LIMIT));
        } finally {
          opened.abort("done");
        }
      },
    ],
  ];

  for (const [name, call] of cases) {
    it(`${name}: refused, and RSS grows far less than the answer`, async () => {
      const { error, growth } = await peakGrowth(call);
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as UpstreamError).code).toBe("upstream_invalid_response");
      expect(growth).toBeLessThan(MAX_GROWTH);
    });
  }
});
