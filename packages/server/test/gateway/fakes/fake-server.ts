/**
 * @module test/gateway/fakes/fake-server
 * The programmable HTTP server under every provider fake. A fake decides what a route answers in the
 * provider's own wire format; this base applies the fault scenario around it (latency, stall before
 * headers, 429/5xx with Retry-After, cut/stall/error after the first frames, an oversized answer, a hostile echo of
 * the credential it was sent), records every request
 * (method, path, headers, body), and notices when the client closes a response before it ended.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { echoMessage, type EchoEncoding } from "./credential-echo.js";

/** How the fake misbehaves; applies to every request until changed. */
export type Scenario =
  | { kind: "ok"; latencyMs?: number }
  | { kind: "stall" }
  /** With `times`, only the next `times` requests fail this way; then the fake answers normally again. */
  | { kind: "status"; status: number; message?: string; retryAfter?: string; times?: number }
  | { kind: "fail-mid-stream" }
  | { kind: "stall-mid-stream" }
  | { kind: "error-mid-stream" }
  /**
   * An answer of more than `bytes`: a JSON body `{"pad":"aaa…"}` (with its `content-length` when `announce`), or for a
   * stream one event/line of `bytes` that never ends (after the first frames when `midStream`). Written with
   * backpressure, so even hundreds of MiB cost the fake no memory.
   */
  | { kind: "oversized"; bytes: number; announce?: boolean; midStream?: boolean }
  /**
   * A hostile provider: answers `status` (default 400) with the request's credential echoed in `encoding` as its
   * error message, or, with `midStream`, a stream's in-band error frame carrying it after the first frames.
   */
  | { kind: "echo-credential"; encoding: EchoEncoding; status?: number; midStream?: boolean };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  /** The parsed JSON body; undefined for a body that is not JSON (multipart, bytes). */
  readonly body: unknown;
  /** The body exactly as received, for multipart and other non-JSON bodies. */
  readonly raw: Buffer;
  /** The query string's parameters. */
  readonly query: URLSearchParams;
}

/** What a provider fake supplies: its routes, its error body, and its in-band stream error frame. */
export interface ProviderWire {
  /** Answer one request (scenario faults other than the stream ones are already handled). */
  route(request: RecordedRequest, res: ServerResponse, fake: FakeUpstream): void;
  /** The provider's error body for an HTTP error status. */
  errorBody(status: number, message: string): unknown;
  /** The provider's in-band error frame inside a stream (SSE event or NDJSON line). */
  streamErrorFrame(message: string): string;
}

/** Number of frames sent before a mid-stream fault strikes (the first byte is always out by then). */
export const FRAMES_BEFORE_FAULT = 2;

export class FakeUpstream {
  scenario: Scenario = { kind: "ok" };
  readonly requests: RecordedRequest[] = [];
  /** Responses the client closed before the fake ended them (cancellation evidence). */
  earlyCloses = 0;
  /** Every message an `echo-credential` scenario answered with, in order. */
  readonly echoes: string[] = [];
  private closeWaiters: Array<() => void> = [];
  url = "";
  private readonly server = createServer((req, res) => void this.handle(req, res));

  constructor(private readonly wire: ProviderWire) {}

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves once more than `seen` responses were closed early by the client; rejects after `timeoutMs`. */
  waitForEarlyClose(seen: number, timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the fake saw no early close within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        if (this.earlyCloses > seen) {
          clearTimeout(timer);
          resolve();
        } else this.closeWaiters.push(check);
      };
      check();
    });
  }

  /** The last request whose path matches. */
  last(path: string): RecordedRequest | undefined {
    return [...this.requests].reverse().find((request) => request.path === path);
  }

  sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  }

  /** Sends stream frames (already in wire format) honouring the mid-stream scenarios. */
  async stream(res: ServerResponse, contentType: string, frames: string[]): Promise<void> {
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-cache" });
    const scenario = this.scenario;
    const faulty = scenario.kind === "fail-mid-stream" || scenario.kind === "stall-mid-stream" || scenario.kind === "error-mid-stream" || scenario.kind === "echo-credential";
    const count = scenario.kind === "oversized" ? (scenario.midStream ? FRAMES_BEFORE_FAULT : 0) : faulty ? FRAMES_BEFORE_FAULT : frames.length;
    for (const frame of frames.slice(0, count)) {
      res.write(frame);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (res.destroyed) return;
    }
    switch (this.scenario.kind) {
      case "fail-mid-stream":
        res.socket?.destroy(); // the connection dies without a terminating chunk
        return;
      case "stall-mid-stream":
        return; // keep the connection open and silent
      case "error-mid-stream":
        res.end(this.wire.streamErrorFrame("upstream overloaded"));
        return;
      case "echo-credential":
        res.end(this.wire.streamErrorFrame(this.echoes.at(-1) ?? ""));
        return;
      case "oversized":
        // One event (SSE) or line (NDJSON) that never ends.
        if (contentType.includes("event-stream")) res.write("data: ");
        await writePadding(res, this.scenario.bytes);
        if (!res.destroyed) res.end();
        return;
      default:
        res.end();
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on("close", () => {
      if (!res.writableFinished) {
        this.earlyCloses += 1;
        for (const check of this.closeWaiters.splice(0)) check();
      }
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const text = raw.toString("utf8");
    const url = new URL(req.url ?? "/", "http://fake.invalid");
    const json = /\bjson\b/i.test(req.headers["content-type"] ?? "");
    const request: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      headers: req.headers,
      body: text && json ? (JSON.parse(text) as unknown) : undefined,
      raw,
      query: url.searchParams,
    };
    this.requests.push(request);
    const scenario = this.scenario;
    if (scenario.kind === "stall") return; // never answer
    if (scenario.kind === "ok" && scenario.latencyMs) await new Promise((resolve) => setTimeout(resolve, scenario.latencyMs));
    if (scenario.kind === "status") {
      if (scenario.times !== undefined && --scenario.times <= 0) this.scenario = { kind: "ok" };
      const headers: Record<string, string> = scenario.retryAfter ? { "retry-after": scenario.retryAfter } : {};
      this.sendJson(res, scenario.status, this.wire.errorBody(scenario.status, scenario.message ?? `fake failure ${scenario.status}`), headers);
      return;
    }
    if (scenario.kind === "echo-credential") {
      const message = echoMessage(scenario.encoding, req.headers);
      this.echoes.push(message);
      if (!scenario.midStream || (request.body as { stream?: unknown } | undefined)?.stream !== true) {
        this.sendJson(res, scenario.status ?? 400, this.wire.errorBody(scenario.status ?? 400, message));
        return;
      }
    }
    if (scenario.kind === "oversized" && (request.body as { stream?: unknown } | undefined)?.stream !== true) {
      const [head, tail] = ['{"pad":"', '"}'];
      res.writeHead(200, { "content-type": "application/json", ...(scenario.announce ? { "content-length": String(head.length + scenario.bytes + tail.length) } : {}) });
      res.write(head);
      await writePadding(res, scenario.bytes);
      if (!res.destroyed) res.end(tail);
      return;
    }
    this.wire.route(request, res, this);
  }
}

const PADDING = Buffer.alloc(64 * 1024, "a");

/** Writes `bytes` of "a", waiting for the socket to drain; stops when the client closes the connection. */
export async function writePadding(res: ServerResponse, bytes: number): Promise<void> {
  let left = bytes;
  while (left > 0 && !res.destroyed) {
    const part = left >= PADDING.length ? PADDING : PADDING.subarray(0, left);
    left -= part.length;
    if (!res.write(part)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off("drain", done);
          res.off("close", done);
          resolve();
        };
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
}

/** Splits the canned answer into stream tokens; joined they give `ANSWER`. */
export const TOKENS = ["Hel", "lo", " from", " the", " fake"];
export const ANSWER = TOKENS.join("");
export const PROMPT_TOKENS = 7;
