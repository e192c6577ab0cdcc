/**
 * @module agents/kcore/dispatch/agent-post
 * One JSON POST to an agent, its whole answer collected as text up to a bound: the HTTP transport's exchange
 * (http-dispatcher.ts), through undici's `dispatch` with a handler of its own over one keep-alive Agent.
 *
 * Why not `fetch` or undici's `request`: a step's exchange is small and buffered, and both build machinery it does not
 * need for every call (fetch: WHATWG streams, Request/Response objects, header guards; request: an AsyncResource
 * handler, a body Readable, a consume promise, signal listeners). Measured under bench/agents.mjs, fetch was about a
 * tenth of the node's CPU per chained step; the gateway's upstream layer (gateway/upstream/dispatch.ts) made the same
 * choice for the same reason. Here: the answer's bytes are kept as they arrive and decoded once, one promise settles.
 *
 * Guarantees: an announced `content-length` above the bound is refused before a byte is read, else as soon as the
 * count passes it, and the connection is dropped (reading on would only fill memory); the caller's AbortSignal (cancel,
 * timeout, shutdown) rejects at once with its reason and closes the connection, so the agent sees its request go;
 * redirects are not followed (a 3xx is an answer like any other: following one would send the task's data wherever
 * it points).
 */
import { Agent, type Dispatcher } from "undici";
import { decodeText } from "../../../bounded-read.js";
import { withTraceHeaders } from "../../../tracing/spans.js";

/** Keep-alive connections to the agents, shared by every step (an idle one closes after this long, ms). */
const agentConnections = new Agent({ keepAliveTimeout: 30_000, connections: 256 });

export interface AgentAnswer {
  status: number;
  text: string;
}

/** The answer was larger than the bound (or announced so). */
export class AnswerTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the answer is larger than ${maxBytes} bytes`);
    this.name = "AnswerTooLarge";
  }
}

/** A failure of the exchange; `answered`: the status line had arrived (the body did not make it whole). */
export class ExchangeFailed extends Error {
  constructor(
    readonly answered: number | null,
    options: { cause: unknown },
  ) {
    super("the exchange with the agent failed", options);
    this.name = "ExchangeFailed";
  }
}

class AgentCall implements Dispatcher.DispatchHandler {
  private status = 0;
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private abortConnection: ((reason?: Error) => void) | null = null;
  private settled = false;
  private readonly onAbort = () => this.abort();

  constructor(
    private readonly signal: AbortSignal,
    private readonly maxBytes: number,
    private readonly resolve: (answer: AgentAnswer) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    signal.addEventListener("abort", this.onAbort, { once: true });
  }

  onConnect(abort: (reason?: Error) => void): void {
    // Settled while waiting for a connection (aborted): give the connection back unused.
    if (this.settled) abort(new Error("the step no longer waits for this answer"));
    else this.abortConnection = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[] | string[] | null): boolean {
    // 1xx informational answers come before the real one.
    if (status < 200) return true;
    this.status = status;
    if (rawHeaders && announcedLength(rawHeaders) > this.maxBytes) return this.overflow();
    return true;
  }

  onData(chunk: Buffer): boolean {
    // Counted before it is kept: nothing past the bound is ever held.
    this.length += chunk.length;
    if (this.length > this.maxBytes) return this.overflow();
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settle()) this.resolve({ status: this.status, text: decodeText(this.chunks, this.length) });
  }

  onError(error: Error): void {
    if (this.settle()) this.reject(new ExchangeFailed(this.status || null, { cause: error }));
  }

  private abort(): void {
    if (this.settle()) this.reject(this.signal.reason);
    this.abortConnection?.(new Error("the step no longer waits for this answer"));
  }

  private overflow(): false {
    this.chunks.length = 0;
    if (this.settle()) this.reject(new AnswerTooLarge(this.maxBytes));
    this.abortConnection?.(new Error("the answer is too large"));
    return false;
  }

  /** True the first time only: one outcome per call; the signal is let go of. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.signal.removeEventListener("abort", this.onAbort);
    return true;
  }
}

/**
 * POSTs `body` (JSON text) to `url` and resolves with the answer's status and text (any status: the caller judges
 * it). Rejects with the signal's reason once it aborts, `AnswerTooLarge`, or `ExchangeFailed` (no connection, a
 * connection lost before the answer was whole).
 */
export function postJson(url: string, body: string, headers: Record<string, string>, signal: AbortSignal, maxBytes: number): Promise<AgentAnswer> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let target: URL;
  try {
    target = new URL(url);
  } catch (error) {
    return Promise.reject(new ExchangeFailed(null, { cause: error }));
  }
  return new Promise<AgentAnswer>((resolve, reject) => {
    const call = new AgentCall(signal, maxBytes, resolve, reject);
    try {
      // With the step's `traceparent` when the task is traced (tracing/spans.ts).
      agentConnections.dispatch({ origin: target.origin, path: `${target.pathname}${target.search}`, method: "POST", headers: withTraceHeaders(headers), body }, call);
    } catch (error) {
      call.onError(error instanceof Error ? error : new Error(String(error)));
    }
  });
}

const CONTENT_LENGTH = "content-length";

/** The `content-length` undici's raw header list announces, or -1. */
function announcedLength(rawHeaders: Buffer[] | string[]): number {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length !== CONTENT_LENGTH.length || String(name).toLowerCase() !== CONTENT_LENGTH) continue;
    const length = Number(String(rawHeaders[i + 1]));
    return Number.isSafeInteger(length) ? length : -1;
  }
  return -1;
}
