/**
 * @module service
 * The service record: what a service, agent or tool registers, and what the registry answers with.
 * One definition serves validation (server), typing (SDK, CLI, dashboard) and the OpenAPI document.
 */
import { z } from "zod";
import semverValid from "semver/functions/valid.js";
import { IdentifierSchema, TimestampSchema } from "./common.js";
import { DEFAULT_MAX_JSON_DEPTH } from "../parse-json.js";

export const SERVICE_TYPES = ["agent", "tool", "service", "api", "device", "node"] as const;
export const ServiceTypeSchema = z.enum(SERVICE_TYPES);
export type ServiceType = z.infer<typeof ServiceTypeSchema>;

/** The capability types the seeds name. Custom capabilities are allowed as long as they look like these. */
export const KNOWN_CAPABILITIES = [
  "llm_chat",
  "llm_completion",
  "embeddings",
  "image_generation",
  "image_analysis",
  "audio_transcription",
  "audio_generation",
  "vector_storage",
  "code_execution",
  "workflow_orchestration",
] as const;
export type KnownCapability = (typeof KNOWN_CAPABILITIES)[number];

export const CapabilitySchema = z
  .string()
  .regex(/^[a-z][a-z0-9_.:-]{0,63}$/, "must be lower-case letters, digits and _ . : - (e.g. llm_chat), at most 64 characters");

export const TagSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/=+-]{0,63}$/, "must start with a letter or digit and use only letters, digits and . _ : / = + -, at most 64 characters");

export const SERVICE_PROTOCOLS = ["http", "https", "ws", "klp"] as const;
export const ServiceProtocolSchema = z.enum(SERVICE_PROTOCOLS);

export const SERVICE_STATUSES = ["active", "degraded", "offline", "maintenance"] as const;
export const ServiceStatusSchema = z.enum(SERVICE_STATUSES);
export type ServiceStatus = z.infer<typeof ServiceStatusSchema>;

/**
 * This node's health-check verdict on a service, apart from its `status` (which owners set and leases
 * expire): `passing` once a probe succeeded, `failing` once `failuresBeforeOffline` probes in a row failed
 * (until `successesBeforeActive` in a row succeed), `unknown` while there is no verdict (no health check
 * declared, none decided yet, or a record imported from a peer, which its origin checks).
 */
export const SERVICE_HEALTH = ["passing", "failing", "unknown"] as const;
export const ServiceHealthSchema = z.enum(SERVICE_HEALTH);
export type ServiceHealth = z.infer<typeof ServiceHealthSchema>;

export const VISIBILITIES = ["public", "internal", "private"] as const;
export const VisibilitySchema = z.enum(VISIBILITIES);
export type Visibility = z.infer<typeof VisibilitySchema>;

export const TRUST_LEVELS = ["system", "trusted", "unverified"] as const;
export const TrustLevelSchema = z.enum(TRUST_LEVELS);
export type TrustLevel = z.infer<typeof TrustLevelSchema>;

export const AUTH_TYPES = ["none", "api_key", "bearer_token", "basic", "oauth2", "jwt"] as const;
export const AuthTypeSchema = z.enum(AUTH_TYPES);

/**
 * A reference to a credential kept elsewhere: `env:NAME` (an environment variable of the server that
 * uses it) or `vault:name` (a vault secret). The registry stores the reference, never the credential.
 */
export const CredentialRefSchema = z
  .string()
  .max(256)
  .regex(/^(env|vault):[A-Za-z0-9_./-]{1,200}$/, "must be env:NAME or vault:secret-name");

/** Field names that carry a raw credential. They are refused wherever a record could hold them. */
const RAW_CREDENTIAL_KEYS = new Set([
  "token", "apikey", "api_key", "password", "secret", "accesstoken", "access_token",
  "authorization", "client_secret", "clientsecret", "private_key", "privatekey",
]);
const RAW_CREDENTIAL_MESSAGE =
  "raw credentials are never stored in the registry; keep the secret in the environment or the vault and reference it with auth.credentialRef (env:NAME or vault:name)";

const AUTH_FIELDS = new Set(["type", "credentialRef", "header"]);

/**
 * A raw credential that arrives with a registration (`auth.token`, seed 004). It is accepted only to be
 * handed to the vault: the registry stores it as the secret `services/<id>/credential` and keeps
 * `credentialRef: vault:services/<id>/credential` instead. It never reaches a stored record.
 */
export const ServiceCredentialSchema = z.string().min(1).max(64 * 1024);

/**
 * How callers authenticate to the service. Carries a reference to the credential, never the credential
 * itself — except `token`, which the registry moves into the vault before anything is stored.
 */
export const ServiceAuthSchema = z
  .looseObject({
    type: AuthTypeSchema.default("none"),
    credentialRef: CredentialRefSchema.optional(),
    /** Header that carries an `api_key` credential (default `Authorization`). */
    header: z.string().regex(/^[A-Za-z0-9-]{1,100}$/).optional(),
    /** A raw credential to be stored in the vault (see ServiceCredentialSchema). */
    token: ServiceCredentialSchema.optional(),
  })
  .superRefine((auth, ctx) => {
    for (const key of Object.keys(auth)) {
      if (key === "token") continue;
      if (RAW_CREDENTIAL_KEYS.has(key.toLowerCase())) {
        ctx.addIssue({ code: "custom", path: [key], message: RAW_CREDENTIAL_MESSAGE });
      } else if (!AUTH_FIELDS.has(key)) {
        ctx.addIssue({ code: "custom", path: [key], message: "unknown field" });
      }
    }
    if (auth.token !== undefined && auth.credentialRef !== undefined) {
      ctx.addIssue({ code: "custom", path: ["credentialRef"], message: "give either token (stored in the vault) or credentialRef, not both" });
    }
  })
  .transform((auth) => {
    const clean: { type: z.infer<typeof AuthTypeSchema>; credentialRef?: string; header?: string; token?: string } = { type: auth.type };
    if (auth.credentialRef !== undefined) clean.credentialRef = auth.credentialRef;
    if (auth.header !== undefined) clean.header = auth.header;
    if (auth.token !== undefined) clean.token = auth.token;
    return clean;
  });

/** The stored (output) form of `auth`. */
export const ServiceAuthRecordSchema = z.object({
  type: AuthTypeSchema,
  credentialRef: CredentialRefSchema.optional(),
  header: z.string().optional(),
});
export type ServiceAuth = z.infer<typeof ServiceAuthRecordSchema>;

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;

export const EndpointSchema = z.strictObject({
  path: z.string().min(1).max(512).regex(/^\//, "must start with /"),
  method: z.enum(HTTP_METHODS).default("POST"),
  description: z.string().max(1000).optional(),
  capability: CapabilitySchema.optional(),
});
export type Endpoint = z.infer<typeof EndpointSchema>;

/** An active HTTP health check. Times are in seconds. Debounced by the two thresholds. */
export const HealthCheckSchema = z
  .strictObject({
    path: z.string().max(512).regex(/^\//, "must start with /").default("/"),
    method: z.enum(["GET", "HEAD"]).default("GET"),
    interval: z.number().min(1).max(3600).default(30),
    timeout: z.number().min(0.1).max(60).default(5),
    /** Consecutive failures before the service is marked offline (one slow reply does not flap it). */
    failuresBeforeOffline: z.int().min(1).max(20).default(3),
    /** Consecutive successes before an offline service is marked active again. */
    successesBeforeActive: z.int().min(1).max(20).default(2),
  })
  .refine((check) => check.timeout <= check.interval, { message: "timeout must not exceed interval", path: ["timeout"] });
export type HealthCheck = z.infer<typeof HealthCheckSchema>;

export const RateLimitSchema = z.strictObject({
  /** Requests per minute the service accepts. */
  rpm: z.int().min(1).max(10_000_000).optional(),
  /** Tokens per minute (LLM services). */
  tpm: z.int().min(1).max(10_000_000_000).optional(),
  /** Requests in flight at once. */
  concurrency: z.int().min(1).max(100_000).optional(),
});
export type RateLimit = z.infer<typeof RateLimitSchema>;

export const SemverSchema = z
  .string()
  .max(128)
  .refine((value) => semverValid(value) !== null, "must be a semantic version such as 1.2.3");

const METADATA_MAX_BYTES = 64 * 1024;

/** One value of `metadata`: any JSON value (what `z.json()` would infer). */
export type MetadataValue = string | number | boolean | null | MetadataValue[] | { [key: string]: MetadataValue };

/**
 * The value type of `metadata` as a schema: it lets any value through, typed as JSON; MetadataSchema's one walk
 * (`checkMetadata`) then checks that every value IS JSON, with the path of the first one that is not.
 * Why not `z.json()`: it is a recursive schema (a `z.lazy` cycle), and zod can neither compile a recursive schema nor
 * any schema that holds one (`z.compile` refuses a reference cycle). Held in `metadata`, it kept the whole
 * registration and patch off zod's compiled path and on its path for recursive schemas (per-parse memo tables, a copy
 * of every value): the largest single cost of a registration on the server (issue 13). In the OpenAPI document this is
 * any value (only a description), named `JsonValue` (server http/openapi-schemas.ts).
 */
const MetadataValueSchema = z.unknown().describe("any JSON value") as z.ZodType<MetadataValue>;

const NOT_JSON_MESSAGE = "must be JSON: a string, a finite number, true, false, null, an array or a plain object";

/** What the walk of one `metadata` found. */
interface MetadataFindings {
  /** An upper bound of the metadata's JSON length (each UTF-16 unit of a string at most `\uXXXX`). */
  bound: number;
  notJson?: { path: string[]; message: string };
  credential?: string[];
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Walks one value: adds its JSON length bound, and notes the first non-JSON value and the first raw credential (a
 * credential-named key holding a string). `path` is the walk's own stack (copied only for a finding).
 */
function walkMetadata(value: unknown, path: string[], findings: MetadataFindings): void {
  switch (typeof value) {
    case "string":
      findings.bound += 2 + 6 * value.length;
      return;
    case "boolean":
      findings.bound += 5;
      return;
    case "number":
      // The longest JavaScript number text is 24 characters (-2.2250738585072014e-308).
      findings.bound += 24;
      if (!Number.isFinite(value)) findings.notJson ??= { path: [...path], message: NOT_JSON_MESSAGE };
      return;
    case "object":
      break;
    default:
      findings.notJson ??= { path: [...path], message: NOT_JSON_MESSAGE };
      return;
  }
  if (value === null) {
    findings.bound += 4;
    return;
  }
  // Deeper than any parsed body may be (parse-json.ts): also how an in-process caller's cyclic object ends.
  if (path.length > DEFAULT_MAX_JSON_DEPTH) {
    findings.notJson ??= { path: [...path], message: `must not nest deeper than ${DEFAULT_MAX_JSON_DEPTH} levels` };
    return;
  }
  findings.bound += 2;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      findings.bound += 1;
      path.push(String(i));
      walkMetadata(value[i], path, findings);
      path.pop();
    }
    return;
  }
  if (!isPlainObject(value)) {
    findings.notJson ??= { path: [...path], message: NOT_JSON_MESSAGE };
    return;
  }
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    findings.bound += 4 + 6 * key.length;
    path.push(key);
    if (findings.credential === undefined && typeof child === "string" && RAW_CREDENTIAL_KEYS.has(key.toLowerCase())) findings.credential = [...path];
    walkMetadata(child, path, findings);
    path.pop();
  }
}

/**
 * `metadata`'s rules in one walk: every value JSON, at most 64 KiB of JSON, and never a raw credential. The exact
 * size (`JSON.stringify`) is computed only when the walk's upper bound passes the limit, so a small record is never
 * serialised here.
 */
function checkMetadata(metadata: Record<string, MetadataValue>, ctx: z.RefinementCtx): void {
  const findings: MetadataFindings = { bound: 0 };
  walkMetadata(metadata, [], findings);
  if (findings.notJson) {
    ctx.addIssue({ code: "custom", path: findings.notJson.path, message: findings.notJson.message });
    return;
  }
  if (findings.bound > METADATA_MAX_BYTES && JSON.stringify(metadata).length > METADATA_MAX_BYTES) {
    ctx.addIssue({ code: "custom", message: `must be at most ${METADATA_MAX_BYTES} bytes of JSON` });
  }
  if (findings.credential) ctx.addIssue({ code: "custom", path: findings.credential, message: RAW_CREDENTIAL_MESSAGE });
}

/**
 * Free-form JSON metadata (e.g. `models`, `ui`), at most 64 KiB, and never a raw credential. Not recursive as a
 * schema (see MetadataValueSchema), so every schema that holds it can be compiled (`z.compile`).
 */
export const MetadataSchema = z.record(z.string().max(128), MetadataValueSchema).superRefine(checkMetadata);

const uniqueStrings = (values: string[]) => [...new Set(values)];

/** Seconds a service may go without a heartbeat before it counts as gone. */
export const TtlSchema = z.int().min(1).max(86_400);

const ServiceUrlSchema = z.url({ protocol: /^(https?|wss?|klp)$/ }).max(2048);

/** The fields a client may set, shared by registration and PATCH. */
const mutableFields = {
  name: z.string().min(1).max(200),
  description: z.string().max(4000),
  type: ServiceTypeSchema,
  provider: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, "must be a lower-case connector id such as openai or ollama"),
  capabilities: z.array(CapabilitySchema).max(64).transform(uniqueStrings),
  tags: z.array(TagSchema).max(64).transform(uniqueStrings),
  url: ServiceUrlSchema,
  protocol: ServiceProtocolSchema,
  auth: ServiceAuthSchema,
  endpoints: z.array(EndpointSchema).max(100),
  healthCheck: HealthCheckSchema,
  rateLimit: RateLimitSchema,
  version: SemverSchema,
  visibility: VisibilitySchema,
  trustLevel: TrustLevelSchema,
  metadata: MetadataSchema,
  ttl: TtlSchema,
  isLocal: z.boolean(),
};

/** Status a client may set itself; `offline` is the registry's verdict and cannot be claimed. */
export const ClientStatusSchema = z.enum(["active", "degraded", "maintenance"]);

/** `POST /api/services/register`: what a service sends to register (or re-register) itself. */
export const ServiceRegistrationSchema = z.strictObject({
  id: IdentifierSchema.optional(),
  name: mutableFields.name,
  description: mutableFields.description.default(""),
  type: mutableFields.type.default("service"),
  provider: mutableFields.provider.optional(),
  capabilities: mutableFields.capabilities.default([]),
  tags: mutableFields.tags.default([]),
  url: mutableFields.url.optional(),
  protocol: mutableFields.protocol.optional(),
  auth: mutableFields.auth.default({ type: "none" }),
  endpoints: mutableFields.endpoints.default([]),
  healthCheck: mutableFields.healthCheck.optional(),
  rateLimit: mutableFields.rateLimit.optional(),
  version: mutableFields.version.optional(),
  /** Only admins may register on behalf of another owner. Defaults to the token's owner. */
  owner: IdentifierSchema.optional(),
  visibility: mutableFields.visibility.default("private"),
  /** Only admins may set `trusted` or `system`. */
  trustLevel: mutableFields.trustLevel.default("unverified"),
  metadata: mutableFields.metadata.default({}),
  ttl: mutableFields.ttl.optional(),
  isLocal: mutableFields.isLocal.optional(),
  status: ClientStatusSchema.default("active"),
});
export type ServiceRegistrationInput = z.input<typeof ServiceRegistrationSchema>;
export type ServiceRegistration = z.output<typeof ServiceRegistrationSchema>;

/**
 * Most registrations one `POST /api/services/bulk` takes. A batch is one storage transaction and one request
 * body: 1000 keeps a batch of typical entries (~0.5 KB each) far below the route's own body limit (8 MiB) and the
 * transaction short enough not to hold other writers back noticeably.
 */
export const BULK_REGISTRATION_MAX = 1000;

/** `POST /api/services/bulk`: registrations written together, all or none (`kai services apply` sends these). */
export const BulkRegistrationRequestSchema = z.strictObject({
  services: z.array(ServiceRegistrationSchema).min(1).max(BULK_REGISTRATION_MAX),
});
export type BulkRegistrationRequestInput = z.input<typeof BulkRegistrationRequestSchema>;
export type BulkRegistrationRequest = z.output<typeof BulkRegistrationRequestSchema>;

/** What a bulk registration did to one entry: `unchanged` is a re-registration that changed nothing (a heartbeat). */
export const BulkRegistrationActionSchema = z.enum(["created", "updated", "unchanged"]);
export type BulkRegistrationAction = z.infer<typeof BulkRegistrationActionSchema>;

/** The answer to a bulk registration: one result per entry, in the request's order, and the revision after it. */
export const BulkRegistrationResponseSchema = z.object({
  results: z.array(z.object({ id: IdentifierSchema, action: BulkRegistrationActionSchema })),
  /** The registry's revision once the batch's changes are written (the last change's; unchanged if none). */
  revision: z.int(),
});
export type BulkRegistrationResponse = z.infer<typeof BulkRegistrationResponseSchema>;

/**
 * Most ids one `POST /api/services/bulk-delete` takes: the bulk registration's batch, for the same reason (one
 * storage transaction, short enough not to hold other writers back). Equal to it on purpose: `kai services apply
 * --prune` sizes its delete batches like its registration batches.
 */
export const BULK_DEREGISTRATION_MAX = BULK_REGISTRATION_MAX;

/**
 * `POST /api/services/bulk-delete`: services deregistered together, all or none (`kai services apply --prune` sends
 * these). An id named twice is refused by the node (400, `body.ids.<i>`), as in a bulk registration.
 */
export const BulkDeregistrationRequestSchema = z.strictObject({
  ids: z.array(IdentifierSchema).min(1).max(BULK_DEREGISTRATION_MAX),
});
export type BulkDeregistrationRequest = z.infer<typeof BulkDeregistrationRequestSchema>;

/**
 * What a bulk deregistration did to one id: `removed`, or `absent` when there was no record the caller could see
 * (what a single `DELETE` answers with 404): already gone, e.g. removed by someone else since the caller listed it.
 */
export const BulkDeregistrationActionSchema = z.enum(["removed", "absent"]);
export type BulkDeregistrationAction = z.infer<typeof BulkDeregistrationActionSchema>;

/** The answer to a bulk deregistration: one result per id, in the request's order, and the revision after it. */
export const BulkDeregistrationResponseSchema = z.object({
  results: z.array(z.object({ id: IdentifierSchema, action: BulkDeregistrationActionSchema })),
  /** The registry's revision once the batch's removals are written (the last one's; the current one if none). */
  revision: z.int(),
});
export type BulkDeregistrationResponse = z.infer<typeof BulkDeregistrationResponseSchema>;

/**
 * `PATCH /api/services/{id}`: a merge patch. Absent fields stay as they are; `null` removes an optional
 * field (`healthCheck`, `rateLimit`, `ttl`, `url`, `provider`, `version`, `isLocal`).
 */
export const ServicePatchSchema = z
  .strictObject({
    name: mutableFields.name.optional(),
    description: mutableFields.description.optional(),
    type: mutableFields.type.optional(),
    provider: mutableFields.provider.nullable().optional(),
    capabilities: mutableFields.capabilities.optional(),
    tags: mutableFields.tags.optional(),
    url: mutableFields.url.nullable().optional(),
    protocol: mutableFields.protocol.nullable().optional(),
    auth: mutableFields.auth.optional(),
    endpoints: mutableFields.endpoints.optional(),
    healthCheck: mutableFields.healthCheck.nullable().optional(),
    rateLimit: mutableFields.rateLimit.nullable().optional(),
    version: mutableFields.version.nullable().optional(),
    owner: IdentifierSchema.optional(),
    visibility: mutableFields.visibility.optional(),
    trustLevel: mutableFields.trustLevel.optional(),
    metadata: mutableFields.metadata.optional(),
    ttl: mutableFields.ttl.nullable().optional(),
    isLocal: mutableFields.isLocal.nullable().optional(),
    status: ClientStatusSchema.optional(),
    /** Optimistic concurrency: apply only if the record is still at this revision (409 otherwise). */
    expectedRevision: z.int().min(0).optional(),
  })
  .refine((patch) => Object.keys(patch).some((key) => key !== "expectedRevision"), { message: "the patch changes nothing" });
export type ServicePatchInput = z.input<typeof ServicePatchSchema>;
export type ServicePatch = z.output<typeof ServicePatchSchema>;

/** `POST /api/services/{id}/heartbeat` body (optional). */
export const HeartbeatRequestSchema = z.strictObject({
  status: z.enum(["active", "degraded"]).optional(),
  note: z.string().max(500).optional(),
});
export type HeartbeatRequest = z.infer<typeof HeartbeatRequestSchema>;

export const HeartbeatResponseSchema = z.object({
  id: z.string(),
  status: ServiceStatusSchema,
  /** When the lease runs out unless another heartbeat arrives; null for services without a ttl. */
  expiresAt: TimestampSchema.nullable(),
  revision: z.int(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;

/** A service as the registry stores and returns it. */
export const ServiceRecordSchema = z.object({
  id: IdentifierSchema,
  name: z.string(),
  description: z.string(),
  type: ServiceTypeSchema,
  provider: z.string().optional(),
  capabilities: z.array(z.string()),
  tags: z.array(z.string()),
  url: z.string().optional(),
  protocol: ServiceProtocolSchema.optional(),
  auth: ServiceAuthRecordSchema,
  endpoints: z.array(
    z.object({ path: z.string(), method: z.string(), description: z.string().optional(), capability: z.string().optional() }),
  ),
  healthCheck: z
    .object({
      path: z.string(),
      method: z.enum(["GET", "HEAD"]),
      interval: z.number(),
      timeout: z.number(),
      failuresBeforeOffline: z.int(),
      successesBeforeActive: z.int(),
    })
    .optional(),
  rateLimit: z.object({ rpm: z.int().optional(), tpm: z.int().optional(), concurrency: z.int().optional() }).optional(),
  version: z.string().optional(),
  owner: z.string(),
  visibility: VisibilitySchema,
  trustLevel: TrustLevelSchema,
  metadata: z.record(z.string(), z.unknown()),
  ttl: z.int().optional(),
  isLocal: z.boolean().optional(),
  /** Time of the last heartbeat (or of registration); null when none was ever received. */
  heartbeat: TimestampSchema.nullable(),
  status: ServiceStatusSchema,
  /** Why the status is what it is (heartbeat note, failed health check, lease expiry). */
  statusNote: z.string().optional(),
  /**
   * The health-check verdict when the record was read (listings, get, watch snapshots and events); never stored.
   * A verdict that changes no status (the first passing probe) is not a watch event of its own.
   */
  health: ServiceHealthSchema.optional(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  /** The global registry revision of this record's last change (for an imported record: its origin's revision). */
  revision: z.int(),
  /** Only on records imported from a federation peer: the DID of the node the record lives on (read-only here). */
  origin: z.string().optional(),
  /** Only on imported records: when the origin's signed statement runs out unless the origin refreshes it. */
  originExpiresAt: TimestampSchema.optional(),
});
export type ServiceRecord = z.infer<typeof ServiceRecordSchema>;

/**
 * The models a service's record declares (`metadata.models`): names, or objects with an `id` (else a `name`); anything
 * else, and empty names, are ignored. The gateway routes by these and the web app lists them: one reading for both.
 */
export function declaredModelNames(metadata: Record<string, unknown>): string[] {
  const models = metadata.models;
  if (!Array.isArray(models)) return [];
  const names: string[] = [];
  for (const entry of models) {
    const name = typeof entry === "string" ? entry : entry !== null && typeof entry === "object" ? ((entry as Record<string, unknown>).id ?? (entry as Record<string, unknown>).name) : undefined;
    if (typeof name === "string" && name !== "") names.push(name);
  }
  return names;
}
