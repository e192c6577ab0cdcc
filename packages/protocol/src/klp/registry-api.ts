/**
 * @module klp/registry-api
 * The service-manager KLP API (profile: `/klp/register`, `/klp/discover`, `/klp/verify`) and the node
 * document at `/.well-known/klp.json`: the registration payload a service signs with its own key, the
 * discovery entry, and the signed answers. Spec: docs/protocol/klp.md §10.
 */
import { z } from "zod";
import { IdentifierSchema } from "../schemas/common.js";
import { CapabilitySchema, SemverSchema, ServiceStatusSchema, ServiceTypeSchema, TagSchema, TtlSchema, VisibilitySchema } from "../schemas/service.js";
import { DidSchema } from "./did.js";
import { KlpSignatureSchema } from "./envelope.js";
import { KlpTimestampSchema } from "./payloads.js";

/** The capability a node's grant must carry for `capability_announce` registrations. */
export const KLP_REGISTER_CAPABILITY = "klp:register";

/** Registry numeric trust levels (profile `trustLevel=N`, 0…100) for the registry's named levels. */
export const KLP_TRUST_LEVELS = { unverified: 0, trusted: 50, system: 100 } as const;

/**
 * The payload of a registration (`capability_announce` to the node): the profile's
 * `{ serviceId, host, capabilities[], version, metadata { name, description, tags, isLocal }, healthEndpoint? }`
 * plus optional `type`, `visibility` (default `public`) and `ttl` (seconds between heartbeats before the
 * service counts as gone). Open like every payload; the listed members are checked with the registry's rules.
 */
export const KlpRegistrationPayloadSchema = z.looseObject({
  serviceId: IdentifierSchema,
  host: z.url({ protocol: /^(https?|wss?|klp)$/ }).max(2048),
  capabilities: z.array(CapabilitySchema).max(64),
  version: SemverSchema,
  metadata: z.looseObject({
    name: z.string().min(1).max(200),
    description: z.string().max(4000).optional(),
    tags: z.array(TagSchema).max(64).optional(),
    isLocal: z.boolean().optional(),
  }),
  /** Path of the health check, relative to `host`. */
  healthEndpoint: z.string().max(512).regex(/^\//, "must be a path starting with /").optional(),
  type: ServiceTypeSchema.optional(),
  visibility: VisibilitySchema.optional(),
  ttl: TtlSchema.optional(),
});
export type KlpRegistrationPayload = z.infer<typeof KlpRegistrationPayloadSchema>;

/** The node document served at `/.well-known/klp.json`, with a detached signature by `did`. */
export const KlpNodeDocumentSchema = z.looseObject({
  did: DidSchema,
  protocols: z.array(z.string().min(1).max(32)).min(1),
  /** Absolute paths, resolved against the URL the document was fetched from. */
  endpoints: z.looseObject({
    message: z.string().regex(/^\//),
    websocket: z.string().regex(/^\//),
    register: z.string().regex(/^\//),
    discover: z.string().regex(/^\//),
    verify: z.string().regex(/^\//),
  }),
  name: z.string().min(1).max(200),
  version: z.string().min(1).max(64),
  /** What the node offers over KLP (`register`, `discover`, `verify`). */
  capabilities: z.array(z.string().min(1).max(64)),
  /** The message types `POST /klp/message` and `/klp` handle. */
  messageTypes: z.array(z.string().min(1).max(64)),
  issuedAt: KlpTimestampSchema,
  signature: KlpSignatureSchema,
});
export type KlpNodeDocument = z.infer<typeof KlpNodeDocumentSchema>;

/** One discovered service. `registration` is the service's own signed registration when it registered over KLP. */
export const KlpDiscoveryEntrySchema = z.looseObject({
  serviceId: IdentifierSchema,
  /** `klp://<origin-node-did>/<service-id>`. */
  address: z.string(),
  name: z.string(),
  description: z.string(),
  type: ServiceTypeSchema,
  capabilities: z.array(z.string()),
  tags: z.array(z.string()),
  version: z.string().optional(),
  url: z.string().optional(),
  isLocal: z.boolean().optional(),
  status: ServiceStatusSchema,
  trustLevel: z.number().int().min(0).max(100),
  location: z.enum(["local", "remote"]),
  /** The node the record lives on (its origin). */
  origin: DidSchema,
  /** Whose signature vouches for the record: the service's DID (KLP registration) or the origin node's. */
  signer: DidSchema,
  revision: z.number().int(),
  /** The service's signed `capability_announce`, as JSON text (exactly what it signed). */
  registration: z.string().optional(),
});
export type KlpDiscoveryEntry = z.infer<typeof KlpDiscoveryEntrySchema>;

export const KlpDiscoveryQuerySchema = z.strictObject({
  capabilities: z.array(CapabilitySchema).max(32).optional(),
  location: z.enum(["local", "remote"]).optional(),
  trustLevel: z.number().int().min(0).max(100).optional(),
});
export type KlpDiscoveryQuery = z.infer<typeof KlpDiscoveryQuerySchema>;

/** `GET /klp/discover`: the entries whose signatures verify, signed (detached) by the answering node. */
export const KlpDiscoveryAnswerSchema = z.looseObject({
  node: DidSchema,
  issuedAt: KlpTimestampSchema,
  query: KlpDiscoveryQuerySchema,
  entries: z.array(KlpDiscoveryEntrySchema),
  signature: KlpSignatureSchema,
});
export type KlpDiscoveryAnswer = z.infer<typeof KlpDiscoveryAnswerSchema>;

/** `GET /klp/verify`: the record, who signed it and whether that signature (and its binding to the record) holds. */
export const KlpVerifyAnswerSchema = z.looseObject({
  node: DidSchema,
  issuedAt: KlpTimestampSchema,
  serviceId: IdentifierSchema,
  signer: DidSchema,
  verified: z.boolean(),
  /** Why it does not verify; absent when it does. */
  reason: z.string().optional(),
  /** The record as discovery would return it (present also when it does not verify, for diagnosis). */
  entry: KlpDiscoveryEntrySchema,
  signature: KlpSignatureSchema,
});
export type KlpVerifyAnswer = z.infer<typeof KlpVerifyAnswerSchema>;

/** `POST /api/klp/grants` (admin): a grant from this node letting `for` act with `capabilities` (default: register). */
export const KlpGrantRequestSchema = z.strictObject({
  for: DidSchema,
  capabilities: z.array(z.string().min(1).max(256)).min(1).max(32).default([KLP_REGISTER_CAPABILITY]),
  /** Seconds; default 30 days, at most a year. */
  ttl: z.number().int().min(60).max(31_536_000).default(2_592_000),
});
export type KlpGrantRequest = z.infer<typeof KlpGrantRequestSchema>;
export type KlpGrantRequestInput = z.input<typeof KlpGrantRequestSchema>;
