/**
 * @module errors
 * The error body every HTTP route and WebSocket message uses, and the table of stable error codes.
 * Clients switch on `code`; `message` is for humans and may change.
 */
import { z } from "zod";

/** Every stable error code the API can answer with, and the HTTP status it travels with. */
export const ERROR_STATUS = {
  validation_failed: 400,
  invalid_json: 400,
  decryption_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  invalid_passphrase: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  // A WebSocket route called as plain HTTP.
  upgrade_required: 426,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  vault_locked: 503,
  vault_not_initialized: 503,
  // Gateway: what went wrong upstream, so the router can decide to fail over and clients can tell.
  model_not_found: 404,
  request_cancelled: 499,
  upstream_rate_limited: 429,
  upstream_bad_request: 400,
  upstream_error: 502,
  upstream_auth_failed: 502,
  upstream_unreachable: 502,
  upstream_invalid_response: 502,
  upstream_stream_broken: 502,
  upstream_timeout: 504,
  // The provider says the named thing (collection, workflow, job) does not exist, or already exists.
  upstream_not_found: 404,
  upstream_conflict: 409,
  // Gateway routing: why no service could take the request (see docs/architecture/gateway.md, Routing).
  capability_not_found: 404,
  no_service_available: 503,
  services_rate_limited: 429,
  credential_unavailable: 503,
  // Federation: a peer's node document could not be read, or names another DID than the one pinned.
  peer_unreachable: 502,
  peer_identity_mismatch: 409,
} as const;

export const ErrorCodeSchema = z.enum(
  Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]],
);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

/** One failing field of a validation error: a dotted path and what is wrong with it. */
export const FieldErrorSchema = z.object({
  path: z.string(),
  message: z.string(),
});
export type FieldError = z.infer<typeof FieldErrorSchema>;

export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    details: z.array(FieldErrorSchema).optional(),
    requestId: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Turns zod issues into the `details` list of a `validation_failed` error. */
export function fieldErrorsFromZod(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(root)",
    message: issue.message,
  }));
}
