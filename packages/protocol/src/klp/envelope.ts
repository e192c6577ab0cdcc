/**
 * @module klp/envelope
 * The KLP 1.0 envelope schema (profile variant A). The top level is closed (unknown fields are
 * malformed) because every field is signed and a receiver must know what it is accepting; the payload
 * is checked against its type's schema. `protocol` is any string here: rule 2 (version) reports a wrong
 * marker with its own code, after the shape has been checked.
 */
import { z } from "zod";
import { DidSchema } from "./did.js";
import { RecipientSchema } from "./address.js";
import { KLP_PAYLOAD_SCHEMAS, KlpMessageTypeSchema, KlpTimestampSchema, type KlpMessageType, type KlpPayload } from "./payloads.js";

export const KLP_PROTOCOL = "klp/1.0";

/** Lower-case UUID v4: the message id, unique per sender, and the replay nonce. */
export const KlpIdSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "must be a lower-case UUID v4");

/** An Ed25519 signature: 64 bytes, 86 unpadded base64url characters. */
export const KlpSignatureSchema = z.string().regex(/^[A-Za-z0-9_-]{86}$/, "must be 64 bytes in base64url");

export const KlpMetadataSchema = z.strictObject({
  priority: z.enum(["low", "normal", "high", "urgent"]).optional(),
  ttl: z.number().int().positive().max(31_536_000).optional(),
  correlationId: KlpIdSchema.optional(),
  encrypted: z.boolean().optional(),
  compression: z.enum(["gzip", "brotli"]).optional(),
});
export type KlpMetadata = z.infer<typeof KlpMetadataSchema>;

export const KlpRouteHopSchema = z.strictObject({
  relay: DidSchema,
  via: z.string().regex(/^[a-z][a-z0-9+.-]{0,31}$/, "must be a transport name such as ws or http"),
  latency: z.number().nonnegative().optional(),
});
export type KlpRouteHop = z.infer<typeof KlpRouteHopSchema>;

/** A capability grant; `token` is a compact JWS (EdDSA) issued by `issuedBy` for `for`. */
export const KlpTokenGrantSchema = z.strictObject({
  issuedBy: DidSchema,
  for: DidSchema,
  capabilities: z.array(z.string().min(1).max(256)).max(256),
  ttl: z.number().int().positive(),
  token: z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, "must be a compact JWS"),
});
export type KlpTokenGrant = z.infer<typeof KlpTokenGrantSchema>;

const envelopeFields = {
  protocol: z.string().min(1).max(32),
  id: KlpIdSchema,
  type: KlpMessageTypeSchema,
  from: DidSchema,
  to: RecipientSchema,
  timestamp: KlpTimestampSchema,
  payload: z.record(z.string(), z.unknown()),
  metadata: KlpMetadataSchema.optional(),
  route: z.array(KlpRouteHopSchema).max(32).optional(),
  auth: KlpTokenGrantSchema.optional(),
};

function checkPayload(envelope: { type: KlpMessageType; payload: unknown }, ctx: z.RefinementCtx): void {
  const result = KLP_PAYLOAD_SCHEMAS[envelope.type].safeParse(envelope.payload);
  if (result.success) return;
  for (const issue of result.error.issues) {
    ctx.addIssue({ code: "custom", path: ["payload", ...issue.path.map(String)], message: issue.message });
  }
}

/** An envelope before signing. */
export const UnsignedEnvelopeSchema = z.strictObject(envelopeFields).superRefine(checkPayload);
/** A complete, signed envelope as it travels. */
export const KlpEnvelopeSchema = z.strictObject({ ...envelopeFields, signature: KlpSignatureSchema }).superRefine(checkPayload);

export type KlpEnvelope = z.infer<typeof KlpEnvelopeSchema>;
export type UnsignedKlpEnvelope = z.infer<typeof UnsignedEnvelopeSchema>;

/** An envelope whose payload type follows from its `type`, for code that builds or switches on messages. */
export type TypedKlpEnvelope<T extends KlpMessageType> = Omit<KlpEnvelope, "type" | "payload"> & {
  type: T;
  payload: KlpPayload<T>;
};
