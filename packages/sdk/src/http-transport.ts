/**
 * @module http-transport
 * One HTTP request to the registry: URL, bearer token, timeout, and the reading of the answer. Every
 * body is parsed with a protocol schema (never cast); failures become `KaiApiError` (the server said no)
 * or `KaiConnectionError` (no answer). Uses the global `fetch` of Node 20 and browsers unless one is injected.
 */
import { ErrorBodySchema, parseJson } from "@kai/protocol";
import { KaiApiError, KaiConnectionError } from "./errors.js";
import { toQueryString } from "./query-string.js";

/** The part of a zod schema the SDK needs; keeps the SDK free of a direct zod dependency. */
export interface ResponseSchema<T> {
  safeParse(input: unknown): { success: true; data: T } | { success: false; error: { message: string } };
}

export interface TransportOptions {
  url: string;
  token?: string | undefined;
  fetch?: typeof fetch | undefined;
  timeoutMs?: number | undefined;
  userAgent?: string | undefined;
}

export interface RequestOptions<T> {
  query?: Parameters<typeof toQueryString>[0];
  body?: unknown;
  /** Schema of a 2xx body; omit for answers without a body (204). */
  schema?: ResponseSchema<T>;
}

export interface TransportResponse<T> {
  status: number;
  data: T;
  requestId?: string;
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

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node's fetch reports "fetch failed" and hides the useful part (ECONNREFUSED, ENOTFOUND) in `cause`.
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" ? `${code} ${cause.message}` : cause.message;
  }
  return error.message;
}

export class HttpTransport {
  readonly baseUrl: string;
  readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(options: TransportOptions) {
    this.baseUrl = normaliseBaseUrl(options.url);
    this.token = options.token;
    const fetchImpl = options.fetch ?? (globalThis.fetch as typeof fetch | undefined);
    if (typeof fetchImpl !== "function") throw new TypeError("no fetch implementation: pass options.fetch");
    // Bind so that a browser's fetch is not called with the wrong `this` ("Illegal invocation").
    this.fetchImpl = options.fetch ?? fetchImpl.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.userAgent = options.userAgent ?? SDK_USER_AGENT;
  }

  async request<T = undefined>(method: string, path: string, options: RequestOptions<T> = {}): Promise<TransportResponse<T>> {
    const url = `${this.baseUrl}${path}${toQueryString(options.query)}`;
    const headers: Record<string, string> = { accept: "application/json", "user-agent": this.userAgent };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      // Only requests that carry a body say it is JSON: an empty body declared as JSON is a 400 on the server.
      headers["content-type"] = "application/json";
      body = JSON.stringify(options.body);
    }

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, { method, headers, body, signal: controller.signal });
      text = await response.text();
    } catch (error) {
      if (controller.signal.aborted) {
        throw new KaiConnectionError(`${method} ${path} timed out after ${this.timeoutMs} ms`, { cause: error });
      }
      throw new KaiConnectionError(`cannot reach ${this.baseUrl}: ${describeCause(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }

    const requestId = response.headers.get("x-request-id") ?? undefined;
    if (!response.ok) throw this.errorFrom(response, text, requestId);

    const result: TransportResponse<T> = { status: response.status, data: undefined as T };
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

  private errorFrom(response: Response, text: string, requestId: string | undefined): KaiApiError {
    const retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after"));
    const json = parseJson(text);
    const parsed = json.ok ? ErrorBodySchema.safeParse(json.value) : undefined;
    if (parsed?.success) {
      const { code, message, details, requestId: bodyRequestId } = parsed.data.error;
      const id = bodyRequestId ?? requestId;
      return new KaiApiError({
        status: response.status,
        code,
        message,
        ...(details !== undefined ? { details } : {}),
        ...(id !== undefined ? { requestId: id } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      });
    }
    // Not our error shape (a proxy, a load balancer, an older server): keep the status, say so.
    return new KaiApiError({
      status: response.status,
      code: `http_${response.status}`,
      message: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
      ...(requestId !== undefined ? { requestId } : {}),
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    });
  }
}
