/**
 * @module gateway/upstream/dispatch
 * The non-streaming upstream call (`callJson`'s transport) through undici's `dispatch` with a handler of our own:
 * the answer's bytes are collected as they arrive and decoded once, and one promise settles per call.
 *
 * Why not `request`: for every call it builds an `AsyncResource` handler, a body `Readable` stream (push, read,
 * end and close events), a consume promise and abort-signal listeners, none of which a buffered answer needs.
 * Measured under bench/gateway's load, that machinery was most of undici's share of the gateway's CPU per request.
 * Streams keep `openUpstream` (they want a Node stream), as do multipart bodies and URLs `splitTarget` refuses.
 *
 * Behaviour is `openUpstream` + reading the text, from the same parts: the request's headers and URL
 * (`upstream-request`), the timer and caller cancellation (`call-abort`), the error mapping (`upstream-error`: status
 * errors with the provider's scrubbed text and `Retry-After`), the same size limit (`maxResponseBytes`: refused on an
 * announced `content-length`, else as soon as the count passes it), and the text decoded as undici's `text()` does
 * (UTF-8, a leading BOM skipped; `bounded-read`).
 */
import type { Dispatcher } from "undici";
import { decodeText } from "../../bounded-read.js";
import { armCall, cancelledAlready, releaseCall, type AbortableCall } from "./call-abort.js";
import { callerCancelled, errorFromException, refusal, responseTooLarge, type AbortCause } from "./upstream-error.js";
import { logAnswered, type UpstreamRequest } from "./upstream-request.js";

/** The provider's text once the whole body arrived with a 2xx status. */
export interface BufferedAnswer {
  readonly text: string;
  /** From sending the request to the last byte, ms. */
  readonly latencyMs: number;
}

/** The reason handed to undici when we abort; its message never reaches a client (the cause decides the error). */
class CallAborted extends Error {}

/**
 * One call: the dispatch handler, its timer and its link to the caller's cancellation (`call-abort`). Settles `done`
 * exactly once; undici's later callbacks (after an abort we initiated) are ignored.
 */
class BufferedCall implements Dispatcher.DispatchHandler, AbortableCall {
  private status = 0;
  private retryAfter: string | null = null;
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private abortConnection: ((reason: Error) => void) | null = null;
  cause: AbortCause | undefined;
  timer: NodeJS.Timeout | null = null;
  detach: (() => void) | null = null;
  private settled = false;
  private readonly startedAt = performance.now();

  constructor(
    private readonly request: UpstreamRequest,
    private readonly resolve: (answer: BufferedAnswer) => void,
    private readonly reject: (error: unknown) => void,
    timeoutMs: number,
    private readonly maxBytes: number,
  ) {
    armCall(this, request.context, timeoutMs);
  }

  /** Our own abort (timeout or the caller left): settles at once, and drops the connection if it is in use. */
  abort(why: AbortCause): void {
    if (this.cause === undefined) this.cause = why;
    if (this.settled) return;
    this.fail(new CallAborted(why));
    this.abortConnection?.(new CallAborted(why));
  }

  onConnect(abort: (reason?: Error) => void): void {
    // Aborted while waiting for a connection: give it back unused.
    if (this.settled) abort(new CallAborted(this.cause ?? "done"));
    else this.abortConnection = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[] | string[] | null): boolean {
    // 1xx informational answers come before the real one.
    if (status < 200) return true;
    this.status = status;
    logAnswered(this.request, status, this.startedAt);
    if (status >= 300 && rawHeaders) this.retryAfter = headerValue(rawHeaders, "retry-after");
    // An announced length beyond the limit is refused before a byte of the body is read.
    if (rawHeaders && announcedLength(rawHeaders) > this.maxBytes) {
      this.overflow();
      return false;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    // Counted before it is kept: an answer never holds more than the limit (plus the chunk that crossed it, dropped).
    this.length += chunk.length;
    if (this.length > this.maxBytes) {
      this.overflow();
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    const text = decodeText(this.chunks, this.length);
    if (this.status >= 200 && this.status < 300) {
      this.finish();
      this.resolve({ text, latencyMs: performance.now() - this.startedAt });
    } else this.refuse(text);
  }

  onError(error: Error): void {
    if (this.settled) return;
    this.fail(error);
  }

  /** A failure before the answer was complete. A refusal whose body could not be read is still that refusal. */
  private fail(error: unknown): void {
    if (this.status >= 300) return this.refuse("");
    const context = this.request.context;
    this.finish();
    this.reject(errorFromException(this.request.provider, error, this.cause, context.target.credential));
  }

  /** A non-2xx answer: the provider's error, classified by status, with its text scrubbed. */
  private refuse(text: string): void {
    this.finish();
    this.reject(refusal(this.request, this.status, text, this.retryAfter));
  }

  /**
   * The answer is larger than `maxBytes`: drop what was read and the connection (reading on would only fill memory).
   * A success becomes `upstream_invalid_response`; a refusal is still that refusal, without its unreadable text.
   */
  private overflow(): void {
    this.chunks.length = 0;
    if (!this.settled) {
      if (this.status >= 300) this.refuse("");
      else {
        this.finish();
        this.reject(responseTooLarge(this.request.provider, this.maxBytes));
      }
    }
    this.abortConnection?.(new CallAborted("done"));
  }

  /** Settled: stops the timer and lets go of the caller's cancellation. */
  private finish(): void {
    this.settled = true;
    releaseCall(this);
  }
}

/** The first value of a response header, from undici's raw `[name, value, …]` list. */
function headerValue(rawHeaders: Buffer[] | string[], name: string): string | null {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (String(rawHeaders[i]).toLowerCase() === name) {
      const value = rawHeaders[i + 1]!;
      return typeof value === "string" ? value : value.toString("latin1");
    }
  }
  return null;
}

const CONTENT_LENGTH = "content-length";

/**
 * The `content-length` undici's raw header list announces, or -1. Runs on every answer, so it compares header names in
 * place (lengths first) instead of making a string per header.
 */
function announcedLength(rawHeaders: Buffer[] | string[]): number {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== CONTENT_LENGTH.length) continue;
    if (typeof name === "string" ? name.toLowerCase() !== CONTENT_LENGTH : !isContentLength(name)) continue;
    const value = rawHeaders[i + 1]!;
    const length = typeof value === "string" ? Number(value) : digits(value);
    return Number.isSafeInteger(length) ? length : -1;
  }
  return -1;
}

function isContentLength(name: Buffer): boolean {
  // ASCII lower-casing by setting bit 0x20; it leaves "-" as it is.
  for (let i = 0; i < CONTENT_LENGTH.length; i++) if ((name[i]! | 0x20) !== CONTENT_LENGTH.charCodeAt(i)) return false;
  return true;
}

/** A header value of decimal digits as a number; NaN for anything else. */
function digits(value: Buffer): number {
  if (value.length === 0) return NaN;
  let result = 0;
  for (const byte of value) {
    if (byte < 0x30 || byte > 0x39) return NaN;
    result = result * 10 + (byte - 0x30);
  }
  return result;
}

/**
 * Sends `request` (its body serialised as JSON) to `origin` + `path` on `dispatcher` and resolves with the whole
 * text of a 2xx answer of at most `maxBytes`, within `timeoutMs` from now; rejects with an `UpstreamError` otherwise.
 */
export function dispatchBuffered(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  target: { origin: string; path: string },
  headers: Record<string, string>,
  timeoutMs: number,
  maxBytes: number,
): Promise<BufferedAnswer> {
  const context = request.context;
  if (cancelledAlready(context)) return Promise.reject(callerCancelled(request.provider));
  let body: string | undefined;
  try {
    body = request.body === undefined ? undefined : JSON.stringify(request.body);
  } catch (error) {
    return Promise.reject(errorFromException(request.provider, error, undefined, context.target.credential));
  }
  return new Promise<BufferedAnswer>((resolve, reject) => {
    // undici reports invalid options (e.g. a header value it refuses) through the handler's onError.
    dispatcher.dispatch({ origin: target.origin, path: target.path, method: request.method, headers, body }, new BufferedCall(request, resolve, reject, timeoutMs, maxBytes));
  });
}
