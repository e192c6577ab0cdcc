/**
 * @module klp/payloads
 * The payload schema of every KLP message type. Payloads are open objects: a sender may add fields
 * (they are signed like the rest), a receiver ignores the ones it does not know. Only the listed
 * fields are checked, which keeps 1.0 receivers compatible with later minor additions.
 */
import { z } from "zod";
import { KlpErrorCodeSchema } from "./errors.js";
import { DidSchema } from "./did.js";
import { MEMORY_TEXT_MAX, MemoryIdSchema, MemoryMetadataKeySchema, MemoryMetadataSchema, MemoryNamespaceSchema, MemorySchema } from "../schemas/memory.js";

/** KLP timestamps: RFC 3339 UTC with exactly three fraction digits, as `Date#toISOString` writes them. */
export const KlpTimestampSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, "must be UTC with milliseconds, e.g. 2026-11-21T10:00:00.000Z")
  // Round trip, not just Date.parse: engines accept 2026-02-30 and 24:00 by rolling over, and an
  // independent implementation must not have to guess which impossible dates are "valid".
  .refine((text) => {
    const ms = Date.parse(text);
    return !Number.isNaN(ms) && new Date(ms).toISOString() === text;
  }, "must be a real calendar instant");

const Text = z.string().min(1).max(1024);
const JsonObject = z.record(z.string(), z.unknown());
/** Nonces are 32 random bytes: 43 unpadded base64url characters. */
export const KlpNonceSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be 32 bytes in base64url");

export const TaskRequestPayloadSchema = z.looseObject({
  taskId: Text,
  capability: Text,
  parameters: JsonObject,
  priority: z.enum(["low", "medium", "high", "critical"]).optional(),
  deadline: KlpTimestampSchema.optional(),
  requirements: JsonObject.optional(),
});
export const TaskResultPayloadSchema = z.looseObject({
  taskId: Text,
  status: z.enum(["success", "failure", "partial"]),
  result: z.unknown().optional(),
  error: z.string().optional(),
  metrics: z.record(z.string(), z.number()).optional(),
});
export const TaskErrorPayloadSchema = z.looseObject({
  taskId: Text,
  code: Text,
  message: z.string(),
  retryable: z.boolean().optional(),
});
export const StatusUpdatePayloadSchema = z.looseObject({
  status: Text,
  taskId: Text.optional(),
  progress: z.number().min(0).max(1).optional(),
  detail: z.string().optional(),
});
export const HeartbeatPayloadSchema = z.looseObject({
  status: z.enum(["ok", "degraded", "draining"]),
  uptimeSeconds: z.number().nonnegative().optional(),
});
/** A memory search's metadata filters (equality, compared as text), at most 16, as on `GET /api/memory/search`. */
const MemoryFilterSchema = z
  .record(MemoryMetadataKeySchema, z.string().max(1024))
  .refine((filter) => Object.keys(filter).length <= 16, "at most 16 filters");
/**
 * `memory_read` (docs/protocol/klp.md "Memory"): exactly one of `key` (the profile's read: the memories written under
 * that key), `id` (one memory) or `query` (a search by meaning), in `namespace` (default `default`) of the owner the
 * sender's grant names. `limit`, `threshold`, `filter` and `expand` shape a `key` or `query` read as on
 * `GET /api/memory/search`. The node answers `memory_read` echoing the request, plus `results` (MemoryReadAnswerSchema).
 */
export const MemoryReadPayloadSchema = z
  .looseObject({
    key: Text.optional(),
    id: MemoryIdSchema.optional(),
    query: z.string().min(1).max(MEMORY_TEXT_MAX).optional(),
    namespace: MemoryNamespaceSchema.optional(),
    limit: z.int().min(1).max(100).optional(),
    threshold: z.number().min(-1).max(1).optional(),
    filter: MemoryFilterSchema.optional(),
    expand: z.boolean().optional(),
  })
  .refine((payload) => [payload.key, payload.id, payload.query].filter((given) => given !== undefined).length === 1, {
    message: "give exactly one of key, id or query",
    path: ["key"],
  });
/** The metadata key a `memory_write`'s `key` is stored under (so that a `memory_read` by key finds it). */
export const KLP_MEMORY_KEY_FIELD = "key";
const MemoryTextSchema = z.string().min(1).max(MEMORY_TEXT_MAX).refine((text) => text.trim().length > 0, "must not be blank");
/**
 * What a node with semantic memory stores from a `memory_write`'s `value`: its text, given as a string or as
 * `{text, …}` (the shape of the golden vector `memory-write-with-grant`). The envelope schema keeps `value` open (any
 * JSON, as KLP 1.0 says); a value of another shape is refused by the node's handler with KLP_MALFORMED.
 */
export const MemoryTextValueSchema = z.union([MemoryTextSchema, z.looseObject({ text: MemoryTextSchema })]);
/**
 * `memory_write`: the profile's `{key, namespace, value}` (`value` any JSON; a semantic-memory node takes its text,
 * MemoryTextValueSchema), plus what `POST /api/memory` takes: `metadata` (without `key`, which the payload's `key`
 * fills), `ttlSeconds`, `relations`. The node answers `status_update` (MemoryWriteAnswerSchema).
 */
export const MemoryWritePayloadSchema = z.looseObject({
  key: Text,
  namespace: MemoryNamespaceSchema.optional(),
  value: z.unknown(),
  metadata: MemoryMetadataSchema.refine((metadata) => !Object.hasOwn(metadata, KLP_MEMORY_KEY_FIELD), "key is the payload's own key, not metadata")
    .refine((metadata) => Object.keys(metadata).length <= 31, "at most 31 metadata keys (the 32nd is key)")
    .optional(),
  ttlSeconds: z.int().min(1).max(31_536_000).optional(),
  relations: z.array(MemoryIdSchema).max(64).optional(),
});
/** One memory of a `memory_read` answer: `score` on a search (by key or query), absent on a read by id. */
export const KlpMemoryHitSchema = z.object({ memory: MemorySchema, score: z.number().optional(), relatedTo: MemoryIdSchema.optional() });
/** The payload of the node's `memory_read` answer: the request's fields, the memories found, the embedding model. */
export const MemoryReadAnswerSchema = z.looseObject({ results: z.array(KlpMemoryHitSchema), model: z.string().optional() });
export type MemoryReadAnswer = z.infer<typeof MemoryReadAnswerSchema>;
/** The payload of the node's `status_update` answer to `memory_write`: stored now, or the same text already was. */
export const MemoryWriteAnswerSchema = z.looseObject({ status: z.enum(["created", "existing"]), key: Text, memory: MemorySchema });
export type MemoryWriteAnswer = z.infer<typeof MemoryWriteAnswerSchema>;
export const StateSyncPayloadSchema = z.looseObject({
  sinceRevision: z.number().int().nonnegative(),
  limit: z.number().int().positive().max(10_000).optional(),
});
/** A service manifest (doc 51's ServiceManifest); federation pushes records with it. */
export const CapabilityAnnouncePayloadSchema = z.looseObject({
  serviceId: Text,
  version: Text,
  capabilities: z.array(Text),
  roles: z.array(Text).optional(),
  endpoints: z.array(Text).optional(),
  trustLevel: z.number().int().min(0).max(100).optional(),
  ttl: z.number().int().positive().optional(),
  metadata: JsonObject.optional(),
});
export const ServiceDiscoveryPayloadSchema = z.looseObject({
  capabilities: z.array(Text).optional(),
  location: z.enum(["local", "remote"]).optional(),
  trustLevel: z.number().int().min(0).max(100).optional(),
});
export const SecurityAlertPayloadSchema = z.looseObject({
  severity: z.enum(["info", "warning", "critical"]),
  message: z.string(),
  subject: Text.optional(),
});
export const TrustUpdatePayloadSchema = z.looseObject({
  operation: z.enum(["endorse", "revoke", "update"]),
  subject: DidSchema,
  trustLevel: z.number().int().min(0).max(100),
  reason: z.string().optional(),
});
export const ConfigUpdatePayloadSchema = z.looseObject({
  target: Text,
  updates: JsonObject,
  mergeStrategy: z.enum(["replace", "merge"]).optional(),
});
export const ContractProposalPayloadSchema = z.looseObject({
  contractId: Text,
  parties: z.array(DidSchema).min(1),
  terms: JsonObject,
  expiresAt: KlpTimestampSchema.optional(),
});
export const ContractAcceptancePayloadSchema = z.looseObject({
  contractId: Text,
  accepted: z.boolean(),
  reason: z.string().optional(),
});
export const ContractExecutionPayloadSchema = z.looseObject({
  contractId: Text,
  status: z.enum(["started", "completed", "failed"]),
  result: z.unknown().optional(),
});
/** A protocol-level rejection; signed by the node that rejects. */
export const ErrorPayloadSchema = z.looseObject({
  code: KlpErrorCodeSchema,
  message: z.string(),
  details: z.unknown().optional(),
});
/** Handshake step 1: the opener names itself and sends a fresh nonce the other side must sign over. */
export const HelloPayloadSchema = z.looseObject({ did: DidSchema, nonce: KlpNonceSchema });
/** Step 2: the responder echoes the opener's nonce (proving its key) and sends its own. */
export const ChallengePayloadSchema = z.looseObject({ echo: KlpNonceSchema, nonce: KlpNonceSchema });
/** Step 3: the opener echoes the responder's nonce inside an envelope it signs. */
export const VerifyPayloadSchema = z.looseObject({ echo: KlpNonceSchema });
/** Step 4: the responder confirms; the session is open. */
export const AcceptPayloadSchema = z.looseObject({ sessionId: Text });

/** Message type → payload schema. The key set is the closed list of KLP 1.0 types. */
export const KLP_PAYLOAD_SCHEMAS = {
  task_request: TaskRequestPayloadSchema,
  task_result: TaskResultPayloadSchema,
  task_error: TaskErrorPayloadSchema,
  status_update: StatusUpdatePayloadSchema,
  heartbeat: HeartbeatPayloadSchema,
  memory_read: MemoryReadPayloadSchema,
  memory_write: MemoryWritePayloadSchema,
  state_sync: StateSyncPayloadSchema,
  capability_announce: CapabilityAnnouncePayloadSchema,
  service_discovery: ServiceDiscoveryPayloadSchema,
  security_alert: SecurityAlertPayloadSchema,
  trust_update: TrustUpdatePayloadSchema,
  config_update: ConfigUpdatePayloadSchema,
  contract_proposal: ContractProposalPayloadSchema,
  contract_acceptance: ContractAcceptancePayloadSchema,
  contract_execution: ContractExecutionPayloadSchema,
  error: ErrorPayloadSchema,
  "klp:hello": HelloPayloadSchema,
  "klp:challenge": ChallengePayloadSchema,
  "klp:verify": VerifyPayloadSchema,
  "klp:accept": AcceptPayloadSchema,
} as const;

export type KlpMessageType = keyof typeof KLP_PAYLOAD_SCHEMAS;
export const KLP_MESSAGE_TYPES = Object.keys(KLP_PAYLOAD_SCHEMAS) as [KlpMessageType, ...KlpMessageType[]];
export const KlpMessageTypeSchema = z.enum(KLP_MESSAGE_TYPES);
export type KlpPayload<T extends KlpMessageType> = z.infer<(typeof KLP_PAYLOAD_SCHEMAS)[T]>;
