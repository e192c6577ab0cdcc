/**
 * @module errors
 * The two ways an SDK call fails: the server answered with an error (`KaiApiError`, carrying the
 * server's stable code), or no usable answer arrived at all (`KaiConnectionError`). Callers switch on
 * the class first and on `code` second; messages are for humans.
 */
import type { ErrorCode, FieldError } from "@kai/protocol";

export interface KaiApiErrorInit {
  status: number;
  code: ErrorCode | string;
  message: string;
  details?: FieldError[];
  requestId?: string;
  /** The trace the request joined, on a node with tracing on. */
  traceId?: string;
  /** Seconds from the `Retry-After` header of a 429 or 503 answer. */
  retryAfterSeconds?: number;
}

/** The server answered, and the answer was an error (any non-2xx status), or a body we cannot read. */
export class KaiApiError extends Error {
  override readonly name = "KaiApiError";
  /** HTTP status of the answer (0 when the error was found on the client before sending). */
  readonly status: number;
  /** The server's stable error code, `http_<status>` when the body was not our error shape. */
  readonly code: ErrorCode | string;
  /** Failing fields of a `validation_failed` error. */
  readonly details?: FieldError[];
  /** The `X-Request-Id` of the failed request, to find it in the server's logs. */
  readonly requestId?: string;
  /**
   * The trace the failed request joined, on a node with tracing on (the error body's `traceId`, else the `traceresponse`
   * header): find its spans in the trace viewer and its log lines with `kai logs tail --trace <id>`.
   */
  readonly traceId?: string;
  readonly retryAfterSeconds?: number;

  constructor(init: KaiApiErrorInit) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    if (init.details !== undefined) this.details = init.details;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.traceId !== undefined) this.traceId = init.traceId;
    if (init.retryAfterSeconds !== undefined) this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** The server could not be reached, the connection broke, or the request timed out. Safe to retry. */
export class KaiConnectionError extends Error {
  override readonly name = "KaiConnectionError";
  /** The node's base URL, when the client could not reach it (not for a cancelled or timed-out request). */
  readonly url: string | undefined;

  constructor(message: string, options?: { cause?: unknown; url?: string }) {
    super(message, options);
    this.url = options?.url;
  }
}

/** True for the errors that mean "this credential will never work here": retrying cannot help. */
export function isAuthError(error: unknown): error is KaiApiError {
  return error instanceof KaiApiError && (error.status === 401 || error.status === 403);
}
