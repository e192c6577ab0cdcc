/**
 * @module gateway/upstream-dispatch
 * The non-streaming upstream call (`callJson`'s transport) through undici's `dispatch` with a handler of our own:
 * the answer's bytes are collected as they arrive and decoded once, and one promise settles per call.
 *
 * Why not `request`: for every call it builds an `AsyncResource` handler, a body `Readable` stream (push, read,
 * end and close events), a consume promise and abort-signal listeners, none of which a buffered answer needs.
 * Measured under bench/gateway's load, that machinery was most of undici's share of the gateway's CPU per request.
 * Streams keep `openUpstream` (they want a Node stream), as do multipart bodies and URLs `splitTarget` refuses.
 *
 * Behaviour is `openUpstream` + reading the text: the same headers, timeout (headers and body), caller
 * cancellation, error mapping (status errors with the provider's scrubbed text and `Retry-After`), and the text
 * decoded as undici's `text()` does (UTF-8, a leading BOM skipped).
 */
import type { Dispatcher } from "undici";
import type { CallContext } from "./connector.js";
import { UpstreamError, errorFromException, errorFromStatus, scrubHeaderValues, type AbortCause } from "./upstream-error.js";
import type { UpstreamRequest } from "./upstream-http.js";

/** The provider's text once the whole body arrived with a 2xx status. */
export interface BufferedAnswer {
  readonly text: string;
  /** From sending the request to the last byte, ms. */
  readonly latencyMs: number;
}

/** The reason handed to undici when we abort; its message never reaches a client (the cause decides the error). */
class CallAborted extends Error {}

/**
 * One call: the dispatch handler, its timer and its link to the caller's cancellation. Settles `done` exactly once;
 * undici's later callbacks (after an abort we initiated) are ignored.
 */
class BufferedCall implements Dispatcher.DispatchHandler {
  private status = 0;
  private retryAfter: string | null = null;
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private abortConnection: ((reason: Error) => void) | null = null;
  private cause: AbortCause | undefined;
  private settled = false;
  private timer: NodeJS.Timeout | null;
  private detach: (() => void) | null = null;
  private readonly startedAt = performance.now();

  constructor(
    private readonly request: UpstreamRequest,
    private readonly resolve: (answer: BufferedAnswer) => void,
    private readonly reject: (error: unknown) => void,
    timeoutMs: number,
  ) {
    const context = request.context;
    this.timer = setTimeout(onCallTimeout, timeoutMs, this);
    if (context.cancel) this.detach = context.cancel.onAbort(() => this.abort("cancelled"));
    else if (context.signal) {
      const signal = context.signal;
      const onAbort = () => this.abort("cancelled");
      signal.addEventListener("abort", onAbort, { once: true });
      this.detach = () => signal.removeEventListener("abort", onAbort);
    }
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
    const { context, provider } = this.request;
    context.logger?.debug({ provider, method: this.request.method, path: this.request.path, status, latencyMs: Math.round(performance.now() - this.startedAt) }, "upstream answered");
    if (status >= 300 && rawHeaders) this.retryAfter = headerValue(rawHeaders, "retry-after");
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.length += chunk.length;
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
    const { context, provider, path } = this.request;
    const failure = errorFromStatus(provider, this.status, scrubHeaderValues(text, context.target.headers), this.retryAfter, context.target.credential);
    context.logger?.warn({ provider, path, status: this.status, code: failure.code, message: failure.message }, "upstream refused the request");
    this.reject(failure);
  }

  /** Settled: stops the timer and lets go of the caller's cancellation. */
  private finish(): void {
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.detach?.();
    this.detach = null;
  }
}

function onCallTimeout(call: BufferedCall): void {
  call.abort("timeout");
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

/** UTF-8 text of the collected body, a leading byte-order mark skipped (as undici's `body.text()` decodes). */
function decodeText(chunks: Buffer[], length: number): string {
  if (length === 0) return "";
  const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
  const start = buffer.length > 2 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  return buffer.toString("utf8", start);
}

/**
 * Sends `request` (its body serialised as JSON) to `origin` + `path` on `dispatcher` and resolves with the whole
 * text of a 2xx answer, within `timeoutMs` from now; rejects with an `UpstreamError` otherwise.
 */
export function dispatchBuffered(
  dispatcher: Dispatcher,
  request: UpstreamRequest,
  target: { origin: string; path: string },
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<BufferedAnswer> {
  const context: CallContext = request.context;
  if (context.cancel ? context.cancel.aborted : context.signal?.aborted) {
    return Promise.reject(new UpstreamError("request_cancelled", `request to ${request.provider} cancelled by the caller`));
  }
  let body: string | undefined;
  try {
    body = request.body === undefined ? undefined : JSON.stringify(request.body);
  } catch (error) {
    return Promise.reject(errorFromException(request.provider, error, undefined, context.target.credential));
  }
  return new Promise<BufferedAnswer>((resolve, reject) => {
    // undici reports invalid options (e.g. a header value it refuses) through the handler's onError.
    dispatcher.dispatch({ origin: target.origin, path: target.path, method: request.method, headers, body }, new BufferedCall(request, resolve, reject, timeoutMs));
  });
}
