/**
 * @module http/error-handler
 * Maps every failure to the one error body `{"error":{"code","message","details"?,"requestId","traceId"?}}` with the
 * code's status. Unknown errors become `internal` (500) with a generic message: no stack trace and no
 * error text that could carry a secret ever reaches a response.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import type { ErrorBody, ErrorCode, FieldError } from "@kai/protocol";
import { ERROR_STATUS } from "@kai/protocol";
import { ApiError, storageUnavailable, storageUnavailableIn } from "../errors.js";
import { requestTraceIds } from "../tracing/http-spans.js";
import { logRouterRejection, unmatchedPathOf } from "./request-log.js";
import { MAX_PARAM_LENGTH } from "./router-limits.js";

function send(reply: FastifyReply, request: FastifyRequest, code: ErrorCode, message: string, details?: FieldError[]): FastifyReply {
  // A traced request's trace id, so the one who saw the error can find the trace and its log lines.
  const traceId = requestTraceIds(request).trace_id;
  const body: ErrorBody = { error: { code, message, ...(details ? { details } : {}), requestId: request.id, ...(traceId !== undefined ? { traceId } : {}) } };
  return reply.status(ERROR_STATUS[code]).type("application/json").send(body);
}

/** Fastify's own error codes that are the client's fault, and ours for them. */
const FASTIFY_CODES: Record<string, { code: ErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "payload_too_large", message: "request body is too large" },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: "unsupported_media_type", message: "send JSON (Content-Type: application/json)" },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: "invalid_json", message: "request body is empty" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: "validation_failed", message: "invalid Content-Length" },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "invalid_json", message: "request body is not valid JSON" },
};

/** What the router's refusals are called in the answer: a path too long is not malformed. */
const ROUTER_ERRORS: Record<string, string> = {
  FST_ERR_BAD_URL: "malformed request URL (an invalid percent-encoding)",
  FST_ERR_MAX_PARAM_LENGTH: `a path segment is longer than ${MAX_PARAM_LENGTH} characters`,
};

/**
 * For errors the router raises before any hook runs (malformed URL encoding, over-long path parameters):
 * the same error body and request id as everything else, no echo of the offending path, and a request line like
 * every other request's (no hook of the app runs for them: http/request-log.ts).
 */
export function sendFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header("X-Request-Id", request.id);
  void send(reply, request, "validation_failed", ROUTER_ERRORS[error.code] ?? "malformed request URL");
  logRouterRejection(request, reply);
}

/** Answers a request no route matched before it becomes a 404 (the web app's deep links); false: not handled. */
export type NotFoundFallback = (request: FastifyRequest, reply: FastifyReply) => FastifyReply | false;

export function installErrorHandling(app: FastifyInstance, fallback: NotFoundFallback = () => false): void {
  app.setErrorHandler((thrown: FastifyError | ApiError, request, reply) => {
    let error = thrown;
    // The database went away under any route (API, KLP, WebSocket upgrade): one clear, retryable answer.
    const unavailable = storageUnavailableIn(error);
    if (unavailable) {
      request.log.warn({ route: request.routeOptions.url, reason: unavailable.message }, "storage unavailable: answered 503 storage_unavailable");
      error = storageUnavailable();
    }
    if (error instanceof ApiError) {
      if (error.headers) reply.headers(error.headers);
      return send(reply, request, error.code, error.message, error.details);
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const where = (error as FastifyError).validationContext ?? "request";
      const details = error.validation.map((issue) => ({
        path: `${where}${issue.instancePath === "/" ? "" : issue.instancePath.replaceAll("/", ".")}`,
        message: issue.message,
      }));
      return send(reply, request, "validation_failed", `invalid ${where}`, details);
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known) return send(reply, request, known.code, known.message);
    const status = (error as FastifyError).statusCode ?? 500;
    if (status === 400) return send(reply, request, "validation_failed", "bad request");
    if (status === 404) return send(reply, request, "not_found", "not found");
    if (status === 413) return send(reply, request, "payload_too_large", "request body is too large");
    if (status === 415) return send(reply, request, "unsupported_media_type", "unsupported content type");
    if (status === 503) return send(reply, request, "unavailable", "the server is shutting down or unavailable");
    request.log.error({ err: error, route: request.routeOptions.url }, "unhandled error");
    return send(reply, request, "internal", "internal error");
  });

  app.setNotFoundHandler((request, reply) => fallback(request, reply) || send(reply, request, "not_found", `no route ${request.method} ${unmatchedPathOf(request)}`));
}
