// callJson's dispatch path (gateway/upstream/dispatch): a buffered call over undici's `dispatch` with our own handler
// must behave as `openUpstream` + reading the text did: the same request on the wire, text decoded the same way, the
// same errors for statuses, timeouts (headers and body), cancellation and broken connections. Real sockets throughout.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CancelSignal } from "../../src/gateway/cancel-signal.js";
import type { CallContext } from "../../src/gateway/connector.js";
import { UpstreamError } from "../../src/gateway/upstream/upstream-error.js";
import { callJson } from "../../src/gateway/upstream/upstream-http.js";
import { upstreamRequests } from "../../src/gateway/upstream/upstream-request.js";

const Answer = z.object({ text: z.string() });
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let baseUrl = "";
const handlers = new Map<string, Handler>();
const seen: Array<{ path: string; headers: IncomingMessage["headers"]; body: string }> = [];
let closedEarly = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({ path: req.url ?? "", headers: req.headers, body });
      res.on("close", () => {
        if (!res.writableFinished) closedEarly++;
      });
      handlers.get(req.url ?? "")?.(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const request = upstreamRequests("Test provider", (target): Record<string, string> => (target.credential ? { authorization: `Bearer ${target.credential}` } : {}));
const context = (extra: Partial<CallContext> = {}): CallContext => ({ target: { baseUrl, credential: "sk-test-credential-1234" }, timeoutMs: 2_000, ...extra });
const failureOf = async (promise: Promise<unknown>): Promise<UpstreamError> => {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
};

describe("callJson over dispatch", () => {
  it("sends the same request as before and decodes a chunked body (BOM skipped, multi-byte characters split across chunks)", async () => {
    handlers.set("/v1/ok", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ text: "héllo wörld €" }))]);
      // Split inside the two-byte "é" and the three-byte "€" so the decoder must join chunks first.
      const cut1 = bytes.indexOf(0xc3) + 1;
      const cut2 = bytes.indexOf(0xe2) + 2;
      res.write(bytes.subarray(0, cut1));
      setTimeout(() => {
        res.write(bytes.subarray(cut1, cut2));
        setTimeout(() => res.end(bytes.subarray(cut2)), 5);
      }, 5);
    });
    const result = await callJson(request("POST", "/v1/ok", context({ requestId: "req-123" }), { model: "m", n: 1 }), Answer);
    expect(result.data).toEqual({ text: "héllo wörld €" });
    expect(result.text).toBe(JSON.stringify({ text: "héllo wörld €" }));
    expect(result.latencyMs).toBeGreaterThan(0);
    const sent = seen.at(-1)!;
    expect(sent.body).toBe(JSON.stringify({ model: "m", n: 1 }));
    expect(sent.headers["content-type"]).toBe("application/json");
    expect(sent.headers["x-request-id"]).toBe("req-123");
    expect(sent.headers.authorization).toBe("Bearer sk-test-credential-1234");
    expect(sent.headers.accept).toBe("application/json, text/event-stream, application/x-ndjson");
  });

  it("passes over 1xx informational answers", async () => {
    handlers.set("/v1/hints", (_req, res) => {
      res.writeEarlyHints({ link: "</style.css>; rel=preload" });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ text: "after hints" }));
    });
    const result = await callJson(request("GET", "/v1/hints", context()), Answer);
    expect(result.data.text).toBe("after hints");
  });

  it("maps a refusal by status, with Retry-After and the credential scrubbed from the provider's text", async () => {
    handlers.set("/v1/limited", (_req, res) => {
      res.writeHead(429, { "content-type": "application/json", "Retry-After": "7" });
      res.end(JSON.stringify({ error: { message: "slow down, sk-test-credential-1234" } }));
    });
    const failure = await failureOf(callJson(request("POST", "/v1/limited", context(), {}), Answer));
    expect(failure.code).toBe("upstream_rate_limited");
    expect(failure.retryAfterSeconds).toBe(7);
    expect(failure.upstreamStatus).toBe(429);
    expect(failure.message).not.toContain("sk-test-credential-1234");
    expect(failure.message).toContain("slow down");
  });

  it("scrubs the values of extra target headers (another auth header) from error text", async () => {
    handlers.set("/v1/echo", (req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: `bad key ${String(req.headers["x-api-key"])}` } }));
    });
    const failure = await failureOf(callJson(request("GET", "/v1/echo", { target: { baseUrl, headers: { "x-api-key": "other-secret-value-99" } }, timeoutMs: 2_000 }), Answer));
    expect(failure.code).toBe("upstream_auth_failed");
    expect(failure.message).not.toContain("other-secret-value-99");
    expect(seen.at(-1)!.headers["x-api-key"]).toBe("other-secret-value-99");
  });

  it("keeps the status error when the refusal's body breaks off", async () => {
    handlers.set("/v1/broken-error", (_req, res) => {
      res.writeHead(503, { "content-type": "application/json", "content-length": "500", "retry-after": "3" });
      res.write('{"error":');
      setTimeout(() => res.destroy(), 10);
    });
    const failure = await failureOf(callJson(request("GET", "/v1/broken-error", context()), Answer));
    expect(failure.code).toBe("upstream_error");
    expect(failure.upstreamStatus).toBe(503);
    expect(failure.retryAfterSeconds).toBe(3);
  });

  it("reports a 2xx whose body breaks off as unreachable, and an invalid body as an invalid response", async () => {
    handlers.set("/v1/cut", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "500" });
      res.write('{"text":');
      setTimeout(() => res.destroy(), 10);
    });
    expect((await failureOf(callJson(request("GET", "/v1/cut", context()), Answer))).code).toBe("upstream_unreachable");
    handlers.set("/v1/shape", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ text: 5 }));
    });
    expect((await failureOf(callJson(request("GET", "/v1/shape", context()), Answer))).code).toBe("upstream_invalid_response");
  });

  it("times out waiting for headers and waiting for the rest of the body, and closes the connection", async () => {
    handlers.set("/v1/no-headers", () => undefined);
    const before = closedEarly;
    const headersTimeout = await failureOf(callJson(request("GET", "/v1/no-headers", context({ timeoutMs: 100 })), Answer));
    expect(headersTimeout.code).toBe("upstream_timeout");
    expect(headersTimeout.message).toContain("did not answer in time");
    handlers.set("/v1/slow-body", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"text":');
    });
    const bodyTimeout = await failureOf(callJson(request("GET", "/v1/slow-body", context({ timeoutMs: 150 })), Answer));
    expect(bodyTimeout.code).toBe("upstream_timeout");
    await expect.poll(() => closedEarly - before).toBe(2);
  });

  it("is cancelled by the caller mid-request (connection closed) and refuses to start when already cancelled", async () => {
    handlers.set("/v1/hang", () => undefined);
    const cancel = new CancelSignal();
    const before = closedEarly;
    const pending = callJson(request("GET", "/v1/hang", context({ cancel })), Answer);
    await expect.poll(() => seen.at(-1)?.path).toBe("/v1/hang");
    cancel.abort();
    expect((await failureOf(pending)).code).toBe("request_cancelled");
    await expect.poll(() => closedEarly - before).toBe(1);

    const count = seen.length;
    const failure = await failureOf(callJson(request("GET", "/v1/hang", context({ cancel })), Answer));
    expect(failure.code).toBe("request_cancelled");
    expect(seen.length).toBe(count);
  });

  it("hears a web AbortSignal when no CancelSignal is given", async () => {
    handlers.set("/v1/hang2", () => undefined);
    const controller = new AbortController();
    const pending = callJson(request("GET", "/v1/hang2", context({ signal: controller.signal })), Answer);
    await expect.poll(() => seen.at(-1)?.path).toBe("/v1/hang2");
    controller.abort();
    expect((await failureOf(pending)).code).toBe("request_cancelled");
  });

  it("reports a closed port as unreachable, without the credential in the message", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const failure = await failureOf(callJson(request("GET", "/v1/x", { target: { baseUrl: `http://127.0.0.1:${port}`, credential: "sk-test-credential-1234" }, timeoutMs: 2_000 }), Answer));
    expect(failure.code).toBe("upstream_unreachable");
    expect(failure.message).not.toContain("sk-test-credential-1234");
  });
});
