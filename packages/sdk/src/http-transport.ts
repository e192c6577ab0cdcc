/**
 * @module http-transport
 * One HTTP request to the registry: URL, bearer token, timeout, and the reading of the answer. Every
 * body is parsed with a protocol schema (never cast); failures become `KaiApiError` (the server said no)
 * or `KaiConnectionError` (no answer). Uses the global `fetch` of Node 20 and browsers unless one is injected.
 * Credentials come from a `Credentials` port (session.ts): a 401 that a fresh access token may cure is retried
 * once after the session renewed it.
 */
import { ErrorBodySchema, parseJson, TraceIdSchema } from "@kai/protocol";
import { KaiApiError, KaiConnectionError } from "./errors.js";
import { describeConnectionFailure } from "./connection-failure.js";
import { toQueryString } from "./query-string.js";
import { isRenewableRefusal, type Credentials } from "./session.js";

/** The part of a zod schema the SDK needs; keeps the SDK free of a direct zod dependency. */
export interface ResponseSchema<T> {
  safeParse(input: unknown): { success: true; data: T } | { success: false; error: { message: string } };
}

export interface TransportOptions {
  url: string;
  /** What authenticates requests; none: requests go without credentials. */
  credentials?: Credentials | undefined;
  fetch?: typeof fetch | undefined;
  timeoutMs?: number | undefined;
  userAgent?: string | undefined;
}

export interface RequestOptions<T> {
  query?: Parameters<typeof toQueryString>[0];
  body?: unknown;
  /** Schema of a 2xx body; omit for answers without a body (204). */
  schema?: ResponseSchema<T>;
  /** Extra request headers (never the authorization header, which the transport sets). */
  headers?: Record<string, string>;
  /**
   * A body sent as it is, with its content type, instead of `body` (artifact uploads: bytes or a stream). A stream
   * cannot be sent twice, so a 401 after it is not retried with a renewed session token (bytes and blobs are).
   */
  rawBody?: { data: Uint8Array | Blob | ReadableStream<Uint8Array>; contentType: string };
  /** Overrides the client's timeout for this call (gateway calls wait for models). */
  timeoutMs?: number;
  /** Cancels the call; with the gateway, the upstream request is cancelled too. */
  signal?: AbortSignal;
  /** Send no credentials (sign-in routes: login, refresh, challenge), and so never renew on a 401. */
  anonymous?: boolean;
}

export interface TransportResponse<T> {
  status: number;
  data: T;
  requestId?: string;
  headers: Headers;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
const SDK_USER_AGENT = "kai-sdk/0.1.0";

/** Strips trailing slashes so that paths can be appended, and refuses what is not an http(s) URL. */
export function normaliseBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`not a valid URL: ${url}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TypeError(`the registry URL must be http:// or https://, got ${parsed.protocol}`);
  }
  return parsed.toString().replace(/\/+$/, "");
}

/** `Retry-After` is either seconds or an HTTP date. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** The `code` of an error body, if the text is one. */
function errorCodeOf(text: string): string | undefined {
  const json = parseJson(text);
  const parsed = json.ok ? ErrorBodySchema.safeParse(json.value) : undefined;
  return parsed?.success ? parsed.data.error.code : undefined;
}

export class HttpTransport {
  readonly baseUrl: string;
  private readonly credentials: Credentials | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(options: TransportOptions) {
    this.baseUrl = normaliseBaseUrl(options.url);
    this.credentials = options.credentials;
    const fetchImpl = options.fetch ?? (globalThis.fetch as typeof fetch | undefined);
    if (typeof fetchImpl !== "function") throw new TypeError("no fetch implementation: pass options.fetch");
    // Bind so that a browser's fetch is not called with the wrong `this` ("Illegal invocation").
    this.fetchImpl = options.fetch ?? fetchImpl.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.userAgent = options.userAgent ?? SDK_USER_AGENT;
  }

  async request<T = undefined>(method: string, path: string, options: RequestOptions<T> = {}): Promise<TransportResponse<T>> {
    const { response, text } = await this.sendRenewing(method, path, options, "application/json", async (sent) => {
      try {
        return await sent.response.text();
      } catch (error) {
        throw this.connectionError(method, path, error, options, sent.signal);
      } finally {
        sent.done();
      }
    });

    const requestId = response.headers.get("x-request-id") ?? undefined;
    if (!response.ok) throw this.errorFrom(response, text, requestId);

    const result: TransportResponse<T> = { status: response.status, data: undefined as T, headers: response.headers };
    if (requestId !== undefined) result.requestId = requestId;
    if (options.schema === undefined) return result;
    const json = parseJson(text);
    const parsed = json.ok ? options.schema.safeParse(json.value) : undefined;
    if (!parsed?.success) {
      throw new KaiApiError({
        status: response.status,
        code: "invalid_response",
        message: `${method} ${path}: the server's answer does not match the protocol (${json.ok ? parsed?.error.message : json.error})`,
        ...(requestId !== undefined ? { requestId } : {}),
      });
    }
    result.data = parsed.data;
    return result;
  }

  /**
   * Opens a streaming answer (server-sent events): resolves with the live `Response` once the status is 2xx,
   * throws `KaiApiError` otherwise. The timeout covers only the wait for the headers; `signal` cancels the
   * stream at any time. The caller reads `response.body`.
   */
  async stream(method: string, path: string, options: Omit<RequestOptions<never>, "schema"> & { accept?: string } = {}): Promise<Response> {
    const { response, text } = await this.sendRenewing(
      method,
      path,
      options,
      options.accept ?? "text/event-stream",
      async (sent) => {
        if (sent.response.ok) {
          sent.done();
          return undefined;
        }
        try {
          return await sent.response.text();
        } catch {
          return ""; // The error body is best effort.
        } finally {
          sent.done();
        }
      },
      { keepSignalAfterHeaders: true },
    );
    if (text === undefined) return response;
    throw this.errorFrom(response, text, response.headers.get("x-request-id") ?? undefined);
  }

  /**
   * Sends, reads the body with `read` (which must call `done`), and when the answer is a 401 a fresh access
   * token may cure, renews the session and sends once more. A body is JSON text, so sending it again is safe;
   * the server refused the request before acting on it.
   */
  private async sendRenewing<R>(
    method: string,
    path: string,
    options: Omit<RequestOptions<unknown>, "schema">,
    accept: string,
    read: (sent: { response: Response; done(): void; signal: AbortSignal }) => Promise<R>,
    mode: { keepSignalAfterHeaders?: boolean } = {},
  ): Promise<{ response: Response; text: R }> {
    for (let attempt = 0; ; attempt += 1) {
      const sent = await this.send(method, path, options, accept, mode);
      const text = await read(sent);
      const retry =
        attempt === 0 &&
        !(options.rawBody?.data instanceof ReadableStream) &&
        sent.response.status === 401 &&
        !options.anonymous &&
        this.credentials !== undefined &&
        typeof text === "string" &&
        isRenewableRefusal(401, errorCodeOf(text)) &&
        (await this.credentials.renew(sent.usedToken));
      if (!retry) return { response: sent.response, text };
    }
  }

  /** Sends the request; `done()` clears the timeout (call it once the body was read). */
  private async send(
    method: string,
    path: string,
    options: Omit<RequestOptions<unknown>, "schema">,
    accept: string,
    mode: { keepSignalAfterHeaders?: boolean } = {},
  ): Promise<{ response: Response; done(): void; signal: AbortSignal; usedToken: string | undefined }> {
    const url = `${this.baseUrl}${path}${toQueryString(options.query)}`;
    const headers: Record<string, string> = { accept, "user-agent": this.userAgent, ...options.headers };
    if (!options.anonymous && this.credentials !== undefined) Object.assign(headers, await this.credentials.authorize(method));
    const usedToken = headers.authorization?.replace(/^Bearer /, "");
    let body: string | Uint8Array | Blob | ReadableStream<Uint8Array> | undefined;
    if (options.rawBody !== undefined) {
      headers["content-type"] = options.rawBody.contentType;
      body = options.rawBody.data;
    } else if (options.body !== undefined) {
      // Only requests that carry a body say it is JSON: an empty body declared as JSON is a 400 on the server.
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const controller = new AbortController();
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const timer = setTimeout(() => controller.abort(new Error("timeout")), timeoutMs);
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      if (!mode.keepSignalAfterHeaders) options.signal?.removeEventListener("abort", onAbort);
    };
    try {
      // A stream body needs `duplex: "half"` (fetch's rule; not yet in the DOM typings).
      const init = { method, headers, body, signal: controller.signal, ...(body instanceof ReadableStream ? { duplex: "half" } : {}) } as RequestInit;
      const response = await this.fetchImpl(url, init);
      if (mode.keepSignalAfterHeaders) clearTimeout(timer);
      return { response, done, signal: controller.signal, usedToken };
    } catch (error) {
      done();
      throw this.connectionError(method, path, error, options, controller.signal);
    }
  }

  private connectionError(method: string, path: string, error: unknown, options: { signal?: AbortSignal; timeoutMs?: number }, signal?: AbortSignal): Error {
    if (options.signal?.aborted) return new KaiConnectionError(`${method} ${path} was cancelled`, { cause: error });
    if (signal?.aborted) return new KaiConnectionError(`${method} ${path} timed out after ${options.timeoutMs ?? this.timeoutMs} ms`, { cause: error });
    return new KaiConnectionError(`cannot reach ${this.baseUrl}: ${describeConnectionFailure(error, this.baseUrl)}`, { cause: error, url: this.baseUrl });
  }

  private errorFrom(response: Response, text: string, requestId: string | undefined): KaiApiError {
    const retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after"));
    const json = parseJson(text);
    const parsed = json.ok ? ErrorBodySchema.safeParse(json.value) : undefined;
    const headerTraceId = traceIdOfResponse(response.headers.get("traceresponse"));
    if (parsed?.success) {
      const { code, message, details, requestId: bodyRequestId, traceId: bodyTraceId } = parsed.data.error;
      const id = bodyRequestId ?? requestId;
      const traceId = bodyTraceId ?? headerTraceId;
      return new KaiApiError({
        status: response.status,
        code,
        message,
        ...(details !== undefined ? { details } : {}),
        ...(id !== undefined ? { requestId: id } : {}),
        ...(traceId !== undefined ? { traceId } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      });
    }
    // Not our error shape (a proxy, a load balancer, an older server): keep the status, say so.
    return new KaiApiError({
      status: response.status,
      code: `http_${response.status}`,
      message: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
      ...(requestId !== undefined ? { requestId } : {}),
      ...(headerTraceId !== undefined ? { traceId: headerTraceId } : {}),
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    });
  }
}

/** The trace id of a W3C `traceresponse` header (`00-<trace id>-<span id>-<flags>`), when it is one. */
export function traceIdOfResponse(header: string | null): string | undefined {
  const match = header === null ? null : /^00-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(header.trim());
  return match && TraceIdSchema.safeParse(match[1]).success ? match[1] : undefined;
}
