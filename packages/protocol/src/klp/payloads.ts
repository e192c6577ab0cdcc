/**
 * @module klp/payloads
 * The payload schema of every KLP message type. Payloads are open objects: a sender may add fields
 * (they are signed like the rest), a receiver ignores the ones it does not know. Only the listed
 * fields are checked, which keeps 1.0 receivers compatible with later minor additions.
 */
import { z } from "zod";
import { KlpErrorCodeSchema } from "./errors.js";
import { DidSchema } from "./did.js";

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
export const MemoryReadPayloadSchema = z.looseObject({ key: Text, namespace: Text.optional() });
export const MemoryWritePayloadSchema = z.looseObject({ key: Text, namespace: Text.optional(), value: z.unknown() });
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
