// The size limit on what one upstream answer may take in memory (`CallContext.maxResponseBytes`), at the transport:
// both non-streaming paths (callJson over dispatch, callJson/callBytes over openUpstream) refuse an answer announced
// or found to be larger, drop the connection and report `upstream_invalid_response`; a refusal with a huge body is
// still that refusal; an answer just below the limit still works; health probes read only a little; the stream
// readers end a stream whose one event or line passes the limit, whatever the stream's total length. Real sockets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { CallContext } from "../../src/gateway/connector.js";
import { ndjsonLines, sseEvents } from "../../src/gateway/upstream/stream-reader.js";
import { UpstreamError } from "../../src/gateway/upstream/upstream-error.js";
import { callBytes, callJson, probeHealth } from "../../src/gateway/upstream/upstream-http.js";
import { upstreamRequests } from "../../src/gateway/upstream/upstream-request.js";
import { writePadding } from "./fakes/fake-server.js";

const LIMIT = 256 * 1024;
const Answer = z.object({ pad: z.string() });
type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

let server: Server;
let baseUrl = "";
const handlers = new Map<string, Handler>();
/** Responses the client closed before they ended, by path. */
const closedEarly = new Map<string, number>();
const closes = (path: string) => closedEarly.get(path) ?? 0;
/** Bytes the last response on each path got into its socket before it closed. */
const written = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0]!;
      res.on("close", () => {
        if (!res.writableFinished) closedEarly.set(path, closes(path) + 1);
        written.set(path, res.socket?.bytesWritten ?? 0);
      });
      void handlers.get(path)?.(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const request = upstreamRequests("Test provider", () => ({}));
const context = (extra: Partial<CallContext> = {}): CallContext => ({ target: { baseUrl }, timeoutMs: 5_000, maxResponseBytes: LIMIT, ...extra });
const failureOf = async (promise: Promise<unknown>): Promise<UpstreamError> => {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
};
/** A form body sends callJson over `openUpstream` instead of the dispatch path. */
const form = () => {
  const body = new FormData();
  body.set("field", "value");
  return body;
};

/** A JSON answer `{"pad":"aaa…"}` with `bytes` of padding, with its content-length when `announce`. */
function padded(bytes: number, announce: boolean, contentType = "application/json"): Handler {
  return async (_req, res) => {
    const [head, tail] = ['{"pad":"', '"}'];
    res.writeHead(200, { "content-type": contentType, ...(announce ? { "content-length": String(head.length + bytes + tail.length) } : {}) });
    res.write(head);
    await writePadding(res, bytes);
    if (!res.destroyed) res.end(tail);
  };
}

describe("non-streaming answers beyond maxResponseBytes", () => {
  for (const announce of [false, true]) {
    const how = announce ? "with content-length" : "chunked, without content-length";
    it(`callJson over dispatch refuses a larger answer (${how}) and drops the connection`, async () => {
      // 128 MiB: far more than loopback socket buffers take in, so the server's writes show where reading stopped.
      handlers.set("/big", padded(128 * 1024 * 1024, announce));
      const before = closes("/big");
      const failure = await failureOf(callJson(request("GET", "/big", context()), Answer));
      expect(failure.code).toBe("upstream_invalid_response");
      expect(failure.status).toBe(502);
      expect(failure.message).toBe(`Test provider answered with more than ${LIMIT} bytes`);
      await expect.poll(() => closes("/big") - before).toBe(1);
      expect(written.get("/big")).toBeLessThan(32 * 1024 * 1024);
    });

    it(`callJson over openUpstream (a form body) refuses a larger answer (${how})`, async () => {
      handlers.set("/big-form", padded(16 * LIMIT, announce));
      const before = closes("/big-form");
      const failure = await failureOf(callJson(request("POST", "/big-form", context(), form()), Answer));
      expect(failure.code).toBe("upstream_invalid_response");
      expect(failure.message).toBe(`Test provider answered with more than ${LIMIT} bytes`);
      await expect.poll(() => closes("/big-form") - before).toBe(1);
    });

    it(`callBytes refuses a larger image (${how})`, async () => {
      handlers.set("/image.png", async (_req, res) => {
        res.writeHead(200, { "content-type": "image/png", ...(announce ? { "content-length": String(16 * LIMIT) } : {}) });
        await writePadding(res, 16 * LIMIT);
        if (!res.destroyed) res.end();
      });
      const before = closes("/image.png");
      const failure = await failureOf(callBytes(request("GET", "/image.png", context())));
      expect(failure.code).toBe("upstream_invalid_response");
      expect(failure.message).toBe(`Test provider answered with more than ${LIMIT} bytes`);
      await expect.poll(() => closes("/image.png") - before).toBe(1);
    });
  }

  it("refuses on the announced content-length before any body byte arrives (both paths)", async () => {
    // Headers announce 1 GiB, then silence: only a refusal on the headers ends this before the timeout.
    handlers.set("/announced", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(1024 ** 3) });
      res.flushHeaders();
    });
    const started = performance.now();
    expect((await failureOf(callJson(request("GET", "/announced", context({ timeoutMs: 10_000 })), Answer))).code).toBe("upstream_invalid_response");
    expect((await failureOf(callBytes(request("GET", "/announced", context({ timeoutMs: 10_000 }))))).code).toBe("upstream_invalid_response");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("keeps a refusal (status, Retry-After) whose body is too large, without reading it all", async () => {
    handlers.set("/refused", async (_req, res) => {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "4" });
      res.write('{"error":{"message":"');
      await writePadding(res, 16 * LIMIT);
      if (!res.destroyed) res.end('"}}');
    });
    for (const call of [() => callJson(request("GET", "/refused", context()), Answer), () => callBytes(request("GET", "/refused", context()))]) {
      const failure = await failureOf(call());
      expect(failure.code).toBe("upstream_error");
      expect(failure.upstreamStatus).toBe(503);
      expect(failure.retryAfterSeconds).toBe(4);
    }
  });

  it("still delivers an answer just below the limit, on every path", async () => {
    const bytes = LIMIT - 64;
    handlers.set("/fits", padded(bytes, false));
    handlers.set("/fits-announced", padded(bytes, true));
    for (const path of ["/fits", "/fits-announced"]) {
      expect((await callJson(request("GET", path, context()), Answer)).data.pad).toHaveLength(bytes);
      expect((await callJson(request("POST", path, context(), form()), Answer)).data.pad).toHaveLength(bytes);
      expect((await callBytes(request("GET", path, context()))).bytes.length).toBe(bytes + 10);
    }
  });

  it("applies the 64 MiB default when the caller sets no limit", async () => {
    handlers.set("/default", padded(2 * 1024 * 1024, true));
    const { maxResponseBytes: _unused, ...withoutLimit } = context();
    expect((await callJson(request("GET", "/default", withoutLimit), Answer)).data.pad).toHaveLength(2 * 1024 * 1024);
    handlers.set("/default-over", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(64 * 1024 * 1024 + 1) });
      res.flushHeaders();
    });
    expect((await failureOf(callJson(request("GET", "/default-over", withoutLimit), Answer))).message).toBe(`Test provider answered with more than ${64 * 1024 * 1024} bytes`);
  });
});

describe("health probes", () => {
  it("read a small body to its end, and drop the connection of a large one without reading it", async () => {
    handlers.set("/healthz", padded(100, true));
    expect(await probeHealth(request("GET", "/healthz", context()))).toMatchObject({ ok: true });
    expect(closes("/healthz")).toBe(0);
    // Far larger than the call's limit would allow, but a probe stops after a few KiB whatever the limit.
    handlers.set("/healthz-huge", padded(64 * 1024 * 1024, false));
    expect(await probeHealth(request("GET", "/healthz-huge", context({ maxResponseBytes: 1024 ** 3 })))).toMatchObject({ ok: true });
    await expect.poll(() => closes("/healthz-huge")).toBe(1);
    expect(written.get("/healthz-huge")).toBeLessThan(8 * 1024 * 1024);
  });
});

describe("stream readers: one event or line beyond the limit", () => {
  async function* chunks(...parts: Array<string | number>): AsyncGenerator<Uint8Array> {
    const encoder = new TextEncoder();
    // A number stands for that many bytes of "a" in 1 KiB chunks.
    for (const part of parts) {
      if (typeof part === "string") yield encoder.encode(part);
      else for (let left = part; left > 0; left -= 1024) yield encoder.encode("a".repeat(Math.min(1024, left)));
    }
  }
  async function drain<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error?: unknown }> {
    const items: T[] = [];
    try {
      for await (const item of iterable) items.push(item);
      return { items };
    } catch (error) {
      return { items, error };
    }
  }

  it("sseEvents: a stream far longer than the limit is fine while each event fits", async () => {
    const event = `data: ${"x".repeat(3_000)}\n\n`;
    const { items, error } = await drain(sseEvents(chunks(...Array.from({ length: 20 }, () => event)), "Test provider", 4_096));
    expect(error).toBeUndefined();
    expect(items).toHaveLength(20);
  });

  it("sseEvents: an event that never ends past the limit fails with upstream_invalid_response, after the events before it", async () => {
    const { items, error } = await drain(sseEvents(chunks("data: first\n\n", "data: ", 64 * 1024, "\n\n"), "Test provider", 4_096));
    expect(items.map((event) => event.data)).toEqual(["first"]);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).code).toBe("upstream_invalid_response");
    expect((error as UpstreamError).message).toBe("Test provider sent a stream event of more than 4096 bytes");
  });

  it("sseEvents: many data lines adding up to one event beyond the limit also count", async () => {
    const line = `data: ${"y".repeat(500)}\n`;
    const { error } = await drain(sseEvents(chunks(...Array.from({ length: 20 }, () => line), "\n"), "Test provider", 4_096));
    expect((error as UpstreamError).code).toBe("upstream_invalid_response");
  });

  it("ndjsonLines: long streams of short lines pass; one line beyond the limit fails", async () => {
    const line = `{"t":"${"z".repeat(3_000)}"}\n`;
    const ok = await drain(ndjsonLines(chunks(...Array.from({ length: 20 }, () => line)), "Test provider", 4_096));
    expect(ok.error).toBeUndefined();
    expect(ok.items).toHaveLength(20);
    // The giant line starts in the same chunk as a complete one, then grows without a newline.
    const bad = await drain(ndjsonLines(chunks('{"a":1}\n{"pad":"', 64 * 1024, '"}\n'), "Test provider", 4_096));
    expect(bad.items).toEqual(['{"a":1}']);
    expect((bad.error as UpstreamError).code).toBe("upstream_invalid_response");
    expect((bad.error as UpstreamError).message).toBe("Test provider sent a stream line of more than 4096 bytes");
  });

  it("ndjsonLines: a line split over many chunks just below the limit is still whole", async () => {
    const { items, error } = await drain(ndjsonLines(chunks('{"pad":"', 4_000, '"}\n{"b":2}'), "Test provider", 4_096));
    expect(error).toBeUndefined();
    expect(items).toEqual([`{"pad":"${"a".repeat(4_000)}"}`, '{"b":2}']);
  });
});
