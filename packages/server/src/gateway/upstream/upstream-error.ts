/**
 * @module gateway/upstream/upstream-error
 * Turns whatever a provider answered (status, body, Retry-After) or however a call failed (timeout, stall, the caller
 * leaving, a cut connection) into one `UpstreamError` with a stable code, and scrubs credentials out of every message
 * first: providers echo keys back in auth errors (LiteLLM leaked keys exactly this way), so no upstream text reaches
 * our errors unredacted, in any of the encodings `credential-forms` knows (base64, base64url, URL-encoding, Basic). Both transports (`dispatch`, `upstream-http`) and the stream reader map through here.
 */
import { ERROR_TRAITS, parseJson, type ErrorCode } from "@kai/protocol";
import { ApiError } from "../../errors.js";
import { scrubCredential, scrubWindow } from "./credential-forms.js";
import type { UpstreamRequest } from "./upstream-request.js";

/** Fields the router needs to decide on retry, failover and cooldown. */
export interface UpstreamErrorInfo {
  /** HTTP status the provider answered with, when it answered at all. */
  readonly upstreamStatus?: number;
  /** Seconds the provider asked us to wait (Retry-After header, or a "try again in Ns" hint in the body). */
  readonly retryAfterSeconds?: number;
}

/** An upstream failure with one of the gateway's stable codes. `retryable` (from `ERROR_TABLE`) is a hint for the router. */
export class UpstreamError extends ApiError {
  readonly upstreamStatus?: number;
  readonly retryAfterSeconds?: number;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, info: UpstreamErrorInfo = {}) {
    const headers = info.retryAfterSeconds !== undefined ? { "Retry-After": String(Math.ceil(info.retryAfterSeconds)) } : undefined;
    super(code, message, undefined, headers);
    this.name = "UpstreamError";
    this.upstreamStatus = info.upstreamStatus;
    this.retryAfterSeconds = info.retryAfterSeconds;
    this.retryable = ERROR_TRAITS[code]?.retryable === true;
  }
}

const MAX_MESSAGE_CHARS = 300;
// Key-like tokens a provider may echo even in part (OpenAI prints a masked key; others print it whole).
const KEY_LIKE = /\b(?:sk|pk|rk|key|api[-_]?key)[-_][A-Za-z0-9*_.-]{6,}|\bBearer\s+\S+/gi;

/**
 * Removes the credential in every encoding a provider may echo it in (see `credential-forms`), and anything
 * key-shaped, from text that may end up in an error or a log line. Only the first `SCRUB_WINDOW_CHARS` (4 KiB) of
 * `text` are kept: every caller keeps a short message, and scrubbing a whole hostile body would cost seconds.
 */
export function redact(text: string, credential?: string): string {
  return scrubWindow(text, credential ? [credential] : [], (window) => (credential ? scrubCredential(window, credential) : window).replace(KEY_LIKE, "[redacted]"));
}

/** Pulls the provider's human message out of an error body (OpenAI/Anthropic `{error:{message}}`, Ollama `{error:"…"}`, Chroma, Qdrant, FastAPI `{detail}`). */
export function providerMessage(body: string): string {
  const parsed = parseJson(body);
  if (parsed.ok && parsed.value !== null && typeof parsed.value === "object") {
    const error = (parsed.value as Record<string, unknown>).error;
    // Chroma sends `{error: "NotFoundError", message: "…"}`, A1111 `{error: "OutOfMemoryError", detail, errors: "…"}`:
    // the error type alone says too little, so the first non-empty explanation is appended.
    if (typeof error === "string") {
      const record = parsed.value as Record<string, unknown>;
      const text = [record.message, record.detail, record.errors].find((value): value is string => typeof value === "string" && value.trim() !== "" && value !== error);
      return text ? `${error}: ${text}` : error;
    }
    if (error && typeof error === "object") {
      const message = (error as Record<string, unknown>).message;
      if (typeof message === "string") return message;
    }
    const message = (parsed.value as Record<string, unknown>).message ?? (parsed.value as Record<string, unknown>).detail;
    if (typeof message === "string") return message;
    // Qdrant: `{status: {error: "…"}, time}`.
    const status = (parsed.value as Record<string, unknown>).status;
    if (status && typeof status === "object" && typeof (status as Record<string, unknown>).error === "string") return (status as { error: string }).error;
  }
  return body.trim();
}

/** Parses Retry-After (seconds or HTTP date) or, failing that, a "try again in 1.5s" / "retry after 3 seconds" hint in the message. */
export function parseRetryAfter(header: string | null, message: string, now = Date.now()): number | undefined {
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds;
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, (date - now) / 1000);
  }
  const hint = /(?:try again|retry|reset)\s+(?:in|after)\s+(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?)?\b/i.exec(message);
  if (hint?.[1]) return hint[2] === "ms" ? Number(hint[1]) / 1000 : Number(hint[1]);
  return undefined;
}

/**
 * Maps a non-success upstream answer to our error. `provider` names the connector in the message; `credential` and
 * the values of `headers` (a record's own auth header) are scrubbed from the provider's text.
 */
export function errorFromStatus(
  provider: string,
  status: number,
  body: string,
  retryAfterHeader: string | null,
  credential?: string,
  headers?: Readonly<Record<string, string>>,
): UpstreamError {
  const text = providerMessage(body);
  const scrubbed = headers ? scrubWindow(text, Object.values(headers), (window) => scrubHeaderValues(window, headers)) : text;
  const detail = redact(scrubbed, credential).slice(0, MAX_MESSAGE_CHARS);
  const message = `${provider} answered ${status}${detail ? `: ${detail}` : ""}`;
  const info = { upstreamStatus: status };
  if (status === 429) {
    return new UpstreamError("upstream_rate_limited", message, { ...info, retryAfterSeconds: parseRetryAfter(retryAfterHeader, detail) });
  }
  if (status === 401 || status === 403) return new UpstreamError("upstream_auth_failed", message, info);
  if (status === 404 && /model/i.test(detail)) return new UpstreamError("model_not_found", message, info);
  if (status === 400 || status === 413 || status === 422) return new UpstreamError("upstream_bad_request", message, info);
  if (status === 408 || status === 504) return new UpstreamError("upstream_timeout", message, info);
  const retryAfterSeconds = status === 503 || status === 529 ? parseRetryAfter(retryAfterHeader, detail) : undefined;
  return new UpstreamError("upstream_error", message, { ...info, retryAfterSeconds });
}

/**
 * A provider's refusal (a non-2xx answer with its text): mapped by status, with the values of the target's extra
 * headers scrubbed from the text too, and logged once (status, code and the redacted message, never the body).
 */
export function refusal(request: UpstreamRequest, status: number, text: string, retryAfterHeader: string | null): UpstreamError {
  const { context, provider } = request;
  const failure = errorFromStatus(provider, status, text, retryAfterHeader, context.target.credential, context.target.headers);
  context.logger?.warn({ provider, path: request.path, status, code: failure.code, message: failure.message }, "upstream refused the request");
  return failure;
}

/** Why an upstream call was aborted by us; lets the error mapping tell timeout, stall and client-gone apart. */
export type AbortCause = "timeout" | "idle" | "cancelled" | "done";

/** The caller went away (or had already gone) before `provider` answered. */
export function callerCancelled(provider: string): UpstreamError {
  return new UpstreamError("request_cancelled", `request to ${provider} cancelled by the caller`);
}

/** Maps an exception thrown by a request or a body read to our error, given why (if at all) we aborted. */
export function errorFromException(provider: string, error: unknown, cause: AbortCause | undefined, credential?: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (cause === "cancelled") return callerCancelled(provider);
  if (cause === "timeout") return new UpstreamError("upstream_timeout", `${provider} did not answer in time`);
  if (cause === "idle") return new UpstreamError("upstream_timeout", `${provider} stream stalled (no data within the idle timeout)`);
  const code = (error as { code?: string })?.code ?? (error as { cause?: { code?: string } })?.cause?.code;
  const text = error instanceof Error ? error.message : String(error);
  return new UpstreamError("upstream_unreachable", redact(`could not reach ${provider}: ${code ?? text}`, credential));
}

/**
 * Removes the values of `target.headers` from provider text, in every encoding `credential-forms` knows. The router
 * puts a credential there when a service record asks for another header (`auth.header`) or HTTP Basic, and providers
 * echo auth headers back in errors: whole, as the token after the scheme, or (Basic) as the decoded `user:password`.
 */
export function scrubHeaderValues(text: string, headers: Readonly<Record<string, string>> | undefined): string {
  if (!headers) return text;
  let out = text;
  for (const value of Object.values(headers)) {
    const token = value.split(/\s+/).at(-1) ?? "";
    const parts = [value, token];
    if (/^Basic\s/i.test(value)) parts.push(Buffer.from(token, "base64").toString("utf8"));
    for (const part of parts) if (part.length >= 8) out = scrubCredential(out, part);
  }
  return out;
}

/**
 * An answer (or one stream event or line) beyond the gateway's `maxResponseBytes`. It is the provider's fault, like any
 * answer we cannot use, so the breaker and failover treat it as an invalid response.
 */
export function responseTooLarge(provider: string, maxBytes: number, what = "answered with"): UpstreamError {
  return new UpstreamError("upstream_invalid_response", `${provider} ${what} more than ${maxBytes} bytes`);
}
