/**
 * @module errors
 * The error body every HTTP route and WebSocket message uses, and the one table of stable error codes: for each
 * code its HTTP status and how the gateway treats it (retried, failed over, counted against a service, safe after
 * side effects). Every other view (status by code, the router's sets, the `gateway.retryOn` / `failoverOn` defaults,
 * the KLP statuses) is derived from here, so a new code is one line and the rules cannot drift apart.
 * Clients switch on `code`; `message` is for humans and may change.
 */
import { z } from "zod";
import type { KlpErrorCode } from "../klp/errors.js";

/**
 * What a code means beyond its status. The gateway traits only matter for codes a routed attempt can fail with
 * (a connector call or the credential lookup before it); `test/gateway/error-table.test.ts` checks that.
 */
export interface ErrorTraits {
  /** The HTTP status the error travels with. */
  readonly status: number;
  /** A second try may succeed (`UpstreamError.retryable`, a hint for the router and clients). */
  readonly retryable?: true;
  /** Retried on the same service by default (the default of `gateway.retryOn`). */
  readonly retry?: true;
  /** The router moves on to the next candidate by default (the default of `gateway.failoverOn`). */
  readonly failover?: true;
  /** Says something about the service's health, so it counts against the service's circuit breaker. */
  readonly serviceFault?: true;
  /**
   * Nothing reached the provider: retrying or failing over is safe even for an operation with side effects
   * (an operation's own side of that rule is `UNSAFE_TO_RETRY` in the server's `gateway/connector.ts`).
   */
  readonly nothingSent?: true;
  /**
   * The provider status that, from a resource connector (vectors, workflows, images), is an answer about the caller's
   * named thing (a collection, workflow or job that does not exist or already exists): `refineError` re-codes such an
   * `upstream_error` to this code, which is neither retried nor failed over. LLM connectors keep the 404 as a
   * (retryable) `upstream_error`: for them it means a misconfigured server.
   */
  readonly resourceStatus?: number;
}

/** Every stable error code the API can answer with, its HTTP status, and how the gateway treats it. */
export const ERROR_TABLE = {
  validation_failed: { status: 400 },
  invalid_json: { status: 400 },
  decryption_failed: { status: 400 },
  unauthorized: { status: 401 },
  forbidden: { status: 403 },
  // Sign-in (issue 14). One code for every wrong name, password, code or signature: which part was wrong is not said.
  invalid_credentials: { status: 401 },
  // The password was right; a second factor (TOTP, recovery code or passkey) must come with it.
  mfa_required: { status: 401 },
  // The session was revoked (sign-out, password change, an admin, a reused refresh token) or has ended.
  session_revoked: { status: 401 },
  // The sign-in was right but a new password must be chosen first (the first admin's one-time password).
  password_change_required: { status: 403 },
  account_disabled: { status: 403 },
  // A cookie-authenticated write without the matching CSRF header.
  csrf_failed: { status: 403 },
  // Too many failed sign-ins for this name or address: wait `Retry-After` seconds.
  login_throttled: { status: 429 },
  // Single sign-on could not complete (state expired or unknown, the provider refused, claims unusable).
  sso_failed: { status: 401 },
  invalid_passphrase: { status: 403 },
  not_found: { status: 404 },
  conflict: { status: 409 },
  // The request (headers and body) did not arrive within `server.requestTimeoutMs`; the connection is closed.
  request_timeout: { status: 408 },
  payload_too_large: { status: 413 },
  unsupported_media_type: { status: 415 },
  // A WebSocket route called as plain HTTP.
  upgrade_required: { status: 426 },
  rate_limited: { status: 429 },
  internal: { status: 500 },
  unavailable: { status: 503 },
  /** The database cannot be reached (or did not answer in time): nothing was acknowledged; retry, or another instance may serve. */
  storage_unavailable: { status: 503 },
  // The vault cannot hand out a service's credential: nothing was sent; another service may not need the vault.
  vault_locked: { status: 503, failover: true, nothingSent: true },
  vault_not_initialized: { status: 503, nothingSent: true },
  // Stored vault data (keyring, a secret's metadata or ciphertext) failed its integrity check: altered outside the server.
  vault_tampered: { status: 500 },
  // Gateway: what went wrong upstream, so the router can decide to fail over and clients can tell.
  model_not_found: { status: 404, failover: true },
  request_cancelled: { status: 499 },
  upstream_rate_limited: { status: 429, retryable: true, failover: true },
  upstream_bad_request: { status: 400 },
  upstream_error: { status: 502, retryable: true, retry: true, failover: true, serviceFault: true },
  upstream_auth_failed: { status: 502, failover: true, serviceFault: true },
  upstream_unreachable: { status: 502, retryable: true, retry: true, failover: true, serviceFault: true, nothingSent: true },
  upstream_invalid_response: { status: 502, retryable: true, failover: true, serviceFault: true },
  upstream_stream_broken: { status: 502, retryable: true, failover: true, serviceFault: true },
  upstream_timeout: { status: 504, retryable: true, failover: true, serviceFault: true },
  // The provider says the named thing (collection, workflow, job) does not exist, or already exists.
  upstream_not_found: { status: 404, resourceStatus: 404 },
  upstream_conflict: { status: 409, resourceStatus: 409 },
  // Gateway routing: why no service could take the request (see docs/architecture/gateway.md, Routing).
  capability_not_found: { status: 404 },
  no_service_available: { status: 503 },
  services_rate_limited: { status: 429 },
  credential_unavailable: { status: 503, failover: true, nothingSent: true },
  // Federation: a peer's node document could not be read, or names another DID than the one pinned.
  peer_unreachable: { status: 502 },
  peer_identity_mismatch: { status: 409 },
  // Agents (issue 16): a manifest not signed by the key its `did` names; signed too long ago (or in the future: a replay);
  // an agent id already bound to another DID (an admin may delete the agent, then it can be registered anew).
  agent_signature_invalid: { status: 400 },
  agent_manifest_stale: { status: 400 },
  agent_identity_mismatch: { status: 409 },
  // MCP tool servers (issue 16): the server added could not be reached, started or listed (the reason in a few words).
  mcp_server_unreachable: { status: 502 },
  // Agents (issue 16): a reserved metadata key changed through the services API: `agent` (the signed manifest's part, changed
  // only by `POST /api/agents`), `mcp` and `a2a` (how the node reaches a tool or agent: only their own routes write them).
  reserved_metadata_key: { status: 403 },
  // External A2A agents (issue 16): the agent card at the URL given could not be read or is not a usable A2A card.
  agent_card_unreadable: { status: 502 },
  // kPlanner (issue 16): the model's answers were not a valid plan within `agents.planner.attempts` (the problems are listed).
  plan_invalid: { status: 422 },
  // kPlanner: no language model (no service offering llm_chat, or not the model asked for) the caller may use.
  planner_unavailable: { status: 503 },
  // kCore (issue 16): an answer sent to a task that is not waiting for input (not input-required).
  task_not_waiting: { status: 409 },
  // kReviewer (issue 16): a reviewed step's output (or the task's result) was rejected and no retry was left.
  review_rejected: { status: 422 },
  // kReviewer: a review was asked for and neither a reviewer agent nor a language model could give one.
  reviewer_unavailable: { status: 503 },
  // Artifacts (issue 17): an upload over `artifacts.maxBytes` (refused the moment it passes the limit).
  artifact_too_large: { status: 413 },
  // Artifacts: a Range header that selects no byte of the artifact.
  range_not_satisfiable: { status: 416 },
  // Artifacts: a share link that is tampered with, expired, revoked, or whose artifact is gone (no detail on which).
  share_link_invalid: { status: 403 },
  // Artifacts: the blob store (an S3-compatible object store) cannot be reached or refused the request; nothing was stored.
  artifact_store_unavailable: { status: 503 },
  // Artifacts: the artifact's record is there but its bytes are not in the blob store (a restore without the artifacts'
  // bytes, a blob removed by hand): the node's state, not the caller's request, is wrong.
  artifact_bytes_missing: { status: 500 },
  // Artifact previews: no thumbnail for this artifact (not a PNG/JPEG/WebP/GIF image, unreadable, or too many pixels; the reason is given).
  preview_unavailable: { status: 422 },
  // Memory (issue 17): the memory index cannot answer (not loaded, or its backend is down); nothing was stored or lost.
  memory_index_unavailable: { status: 503 },
  // Prompts (issue 17): a template names a variable it does not declare (or a declared default has the wrong type).
  prompt_template_invalid: { status: 422 },
  // Prompts: a render is missing a required variable or was given one of the wrong type (or one not declared).
  prompt_variables_invalid: { status: 422 },
  // Configuration layers (issue 18): a change to a key that a system or policy file locked (the lock's layer and file are named).
  config_locked: { status: 409 },
  // Configuration layers: a change to settings that only take effect at a restart (the keys are named); nothing was applied.
  config_restart_required: { status: 409 },
  // Plugin lifecycle (issue 18): a new version (install, update, rollback) failed its start or health check; the previous one was put back.
  plugin_start_failed: { status: 422 },
  // Plugin updates: the update manifest is signed by a key this node does not trust for plugins (plugins.trustedKeys).
  plugin_untrusted: { status: 403 },
  // Plugin runtime (issue 18): the plugin that provides the capability is not running on this instance (disabled, restarting, failed).
  plugin_unavailable: { status: 503 },
  // Plugin runtime: a call's input does not match the JSON Schema the plugin's manifest declares for the capability.
  plugin_input_invalid: { status: 422 },
  // ServiceBus (issue 18): a plugin called the node without the permission the call needs (recorded in the security log).
  plugin_permission_denied: { status: 403 },
  // Backups (issue 19): the passphrase does not open the backup (its key fails the header's check value).
  backup_passphrase_wrong: { status: 422 },
  // Backups: the file is not a backup, is cut short or changed (authentication fails), or a file inside does not match the manifest's hash.
  backup_corrupt: { status: 422 },
  // Backups: the backup could not be written where the node keeps them (`backup.dir` cannot be made or written, or its disk is full); nothing was kept.
  backup_failed: { status: 507 },
  // Backups: the offsite store (`backup.offsite`) did not answer or refused, while reading a backup kept only there.
  backup_offsite_unavailable: { status: 503 },
} as const satisfies Record<string, ErrorTraits>;

type ErrorTableCode = keyof typeof ERROR_TABLE;
const ERROR_CODES = Object.keys(ERROR_TABLE) as [ErrorTableCode, ...ErrorTableCode[]];

export const ErrorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

/** The traits of `code` (the table typed as a plain record, for code that reads any trait of any code). */
export const ERROR_TRAITS: Readonly<Record<ErrorCode, ErrorTraits>> = ERROR_TABLE;

/** The HTTP status of every code (derived from `ERROR_TABLE`). */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.fromEntries(ERROR_CODES.map((code) => [code, ERROR_TABLE[code].status])) as Record<ErrorCode, number>;

/** The gateway traits that are flags. */
export type ErrorFlag = "retryable" | "retry" | "failover" | "serviceFault" | "nothingSent";

/** The codes that have `flag`, in table order. */
export function errorCodesWith(flag: ErrorFlag): ErrorCode[] {
  return ERROR_CODES.filter((code) => ERROR_TRAITS[code][flag] === true);
}

/** The default of `gateway.retryOn`: codes retried on the same service. */
export const DEFAULT_RETRY_ON: readonly ErrorCode[] = errorCodesWith("retry");
/** The default of `gateway.failoverOn`: codes after which the next candidate is tried. */
export const DEFAULT_FAILOVER_ON: readonly ErrorCode[] = errorCodesWith("failover");

/**
 * The HTTP status a KLP rejection travels with on `POST /klp/message` and `POST /klp/register`. The body is always the
 * signed `error` envelope (its `code` is what peers switch on); the status only lets plain HTTP tooling (proxies, logs,
 * retries) tell a bad request from a refused sender from a busy node.
 */
export const KLP_HTTP_STATUS: Readonly<Record<KlpErrorCode, number>> = {
  KLP_MALFORMED: 400,
  KLP_UNSUPPORTED_VERSION: 400,
  KLP_BAD_SIGNATURE: 401,
  KLP_STALE: 401,
  KLP_REPLAY: 409,
  KLP_UNKNOWN_SENDER: 403,
  KLP_TRUST_INSUFFICIENT: 403,
  KLP_UNAUTHORIZED: 403,
  KLP_NOT_FOUND: 404,
  KLP_RATE_LIMITED: 429,
  KLP_INTERNAL: 500,
};

/** One failing field of a validation error: a dotted path and what is wrong with it. */
export const FieldErrorSchema = z.object({
  path: z.string(),
  message: z.string(),
  /**
   * The id of the list entry the path runs through, when it has one (`services.17345.endpoint` of a manifest:
   * `gen-17345`). Beside the path rather than in it, so that the path stays `<list>.<index>.<field>` for a program
   * to split, while a person finds the entry in a long file by its id instead of counting to it.
   */
  entry: z.string().optional(),
});
export type FieldError = z.infer<typeof FieldErrorSchema>;

export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    message: z.string(),
    details: z.array(FieldErrorSchema).optional(),
    requestId: z.string().optional(),
    /** The trace the request was part of, on a node with tracing on (its log lines carry it: `kai logs tail --trace`). */
    traceId: z.string().optional(),
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
