/**
 * @module klp/federation
 * Registry federation between nodes (spec: docs/protocol/klp.md §11). A node exports its own `public`
 * records as *statements* it signs (detached, like node documents): a record statement says "this is my
 * record `serviceId` at my revision N, good until T"; a tombstone says "my record `serviceId` is gone as of
 * my revision N". Statements travel inside `state_sync` answers (pull, from a revision cursor, or a paged
 * snapshot when the log no longer reaches back) and inside `capability_announce` pushes. The importer
 * checks each statement on its own: signed by its origin, the origin is the peer that sent it, newer than
 * what it holds. A statement keeps its signature wherever it goes, so any node can re-check it.
 */
import { z } from "zod";
import { IdentifierSchema, TimestampSchema } from "../schemas/common.js";
import { ServiceProtocolSchema, ServiceStatusSchema, ServiceTypeSchema, TrustLevelSchema } from "../schemas/service.js";
import { DidSchema } from "./did.js";
import { KlpSignatureSchema } from "./envelope.js";
import { KlpTimestampSchema, StateSyncPayloadSchema } from "./payloads.js";

/**
 * What of a record leaves its node: what any reader of the origin could see of a public record, minus
 * everything that is the origin's own business (owner, credentials and auth, rate limits, health-check
 * settings, lease times).
 */
export const ExportedRecordSchema = z.looseObject({
  id: IdentifierSchema,
  name: z.string().max(200),
  description: z.string().max(4000),
  type: ServiceTypeSchema,
  provider: z.string().max(64).optional(),
  capabilities: z.array(z.string().max(128)).max(64),
  tags: z.array(z.string().max(64)).max(64),
  url: z.string().max(2048).optional(),
  protocol: ServiceProtocolSchema.optional(),
  endpoints: z
    .array(z.looseObject({ path: z.string(), method: z.string(), description: z.string().optional(), capability: z.string().optional() }))
    .max(256),
  version: z.string().max(64).optional(),
  trustLevel: TrustLevelSchema,
  metadata: z.record(z.string(), z.unknown()),
  isLocal: z.boolean().optional(),
  heartbeat: TimestampSchema.nullable(),
  status: ServiceStatusSchema,
  statusNote: z.string().max(1024).optional(),
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
});
export type ExportedRecord = z.infer<typeof ExportedRecordSchema>;

/** What every statement carries: who says it, about which record, as of which of its revisions, signed. */
const StatementBaseSchema = z.looseObject({
  origin: DidSchema,
  serviceId: IdentifierSchema,
  originRevision: z.int().min(1),
  issuedAt: KlpTimestampSchema,
  signature: KlpSignatureSchema,
});

/** "My record `serviceId` is `record`, as of my revision `originRevision`; drop it after `expiresAt`." */
export const RecordStatementSchema = StatementBaseSchema.extend({
  kind: z.literal("record"),
  expiresAt: KlpTimestampSchema,
  record: ExportedRecordSchema,
});
export type RecordStatement = z.infer<typeof RecordStatementSchema>;

/** "My record `serviceId` is gone (deleted, or no longer public) as of my revision `originRevision`." */
export const TombstoneStatementSchema = StatementBaseSchema.extend({ kind: z.literal("tombstone") });
export type TombstoneStatement = z.infer<typeof TombstoneStatementSchema>;

export const FederationStatementSchema = z.discriminatedUnion("kind", [RecordStatementSchema, TombstoneStatementSchema]);
export type FederationStatement = z.infer<typeof FederationStatementSchema>;

/** Most statements one `state_sync` answer carries. */
export const STATE_SYNC_MAX_BATCH = 1000;

/**
 * A `state_sync` request. `sinceRevision` is the last origin revision the asker holds (0: none); `epoch`
 * the origin's registry epoch that revision belongs to (another epoch means the cursor is meaningless).
 * `snapshotCursor` continues a paged snapshot; `subscribe` (WebSocket only) asks for pushes of later changes.
 */
export const StateSyncRequestSchema = StateSyncPayloadSchema.extend({
  epoch: z.string().min(1).max(64).optional(),
  snapshotCursor: z.string().min(1).max(512).optional(),
  subscribe: z.boolean().optional(),
});
export type StateSyncRequest = z.infer<typeof StateSyncRequestSchema>;

/**
 * The answer. `mode: "changes"`: the changes after `sinceRevision` up to `revision`, latest per service
 * (an asker that applies them holds everything through `revision`). `mode: "snapshot"`: one page of every
 * exported record as of the snapshot (records missing from the whole snapshot are gone); continue with
 * `nextSnapshotCursor` until it is null, then hold everything through `revision` of the first page.
 */
export const StateSyncAnswerSchema = z.looseObject({
  sinceRevision: z.int().min(0),
  mode: z.enum(["changes", "snapshot"]),
  revision: z.int().min(0),
  /** The answering node's latest revision (the asker's lag is this minus what it holds). */
  headRevision: z.int().min(0).optional(),
  epoch: z.string().min(1).max(64),
  statements: z.array(z.unknown()).max(STATE_SYNC_MAX_BATCH),
  more: z.boolean(),
  nextSnapshotCursor: z.string().min(1).max(512).nullable().optional(),
});
export type StateSyncAnswer = z.infer<typeof StateSyncAnswerSchema>;

/**
 * Pushed changes (`capability_announce` from a peer the receiver subscribed to): one or more statements, in
 * the order the changes happened. An exporter paces pushes per subscriber (a token bucket: bursts of
 * `PUSH_BURST`, then `PUSH_RATE_PER_SECOND`; what waits goes out together), so that a busy origin stays within
 * the receiver's replay memory (`PEER_SESSION_REPLAY_IDS` ids per peer session). The manifest members the
 * message type requires describe the first statement's record.
 */
export const FederationPushPayloadSchema = z.looseObject({
  serviceId: IdentifierSchema,
  version: z.string().min(1).max(64),
  capabilities: z.array(z.string()),
  statements: z.array(z.unknown()).min(1).max(STATE_SYNC_MAX_BATCH),
});
/** Pushes sent at once after a quiet spell, per subscriber. */
export const PUSH_BURST = 50;
/** Sustained pushes per second per subscriber: at most 60,000 messages in a 300 s staleness window. */
export const PUSH_RATE_PER_SECOND = 200;
/** Message ids a node remembers per peer session (replay memory, §6): above what pacing can fill. */
export const PEER_SESSION_REPLAY_IDS = 100_000;
export type FederationPushPayload = z.infer<typeof FederationPushPayloadSchema>;

/** Where a record lives, as seen from the node answering: its own, or imported from a peer. */
export const RecordLocationSchema = z.enum(["local", "remote"]);
export type RecordLocation = z.infer<typeof RecordLocationSchema>;

/** The `GET /api/peers` view of one peer. */
export const PeerInfoSchema = z.object({
  did: DidSchema,
  url: z.string(),
  name: z.string().optional(),
  /** Only trusted peers' statements are imported; an untrusted peer is kept listed but cut off. */
  trusted: z.boolean(),
  addedAt: TimestampSchema,
  state: z.enum(["connecting", "connected", "disconnected", "untrusted"]),
  /** The last time a message from the peer was accepted. */
  lastContact: TimestampSchema.nullable(),
  lastError: z.string().nullable(),
  /** The peer's revision this node holds everything through. */
  cursor: z.int(),
  /** The peer's latest revision as last heard, minus `cursor`. */
  lagRevisions: z.int(),
  importedRecords: z.int(),
  /** Statements and messages from the peer refused, by KLP error code. */
  rejected: z.record(z.string(), z.int()),
});
export type PeerInfo = z.infer<typeof PeerInfoSchema>;

export const AddPeerRequestSchema = z.strictObject({
  /** The peer's base URL (http or https); its node document is read from `/.well-known/klp.json`. */
  url: z.url({ protocol: /^https?$/ }).max(2048),
  /** The DID to pin. Without it, the DID the node document names is pinned (shown to confirm). */
  did: DidSchema.optional(),
  name: z.string().min(1).max(200).optional(),
  /** Default true. `false` adds the peer listed but cut off (nothing imported until trusted). */
  trusted: z.boolean().optional(),
});
export type AddPeerRequest = z.infer<typeof AddPeerRequestSchema>;

export const UpdatePeerRequestSchema = z.strictObject({ trusted: z.boolean() });
export type UpdatePeerRequest = z.infer<typeof UpdatePeerRequestSchema>;

export const PeerListResponseSchema = z.object({ peers: z.array(PeerInfoSchema) });
export type PeerListResponse = z.infer<typeof PeerListResponseSchema>;

/** A node heard on the LAN by mDNS/DNS-SD (`GET /api/peers/discovered`). Unauthenticated: adding it pins its DID as `POST /api/peers` does. */
export const DiscoveredPeerSchema = z.object({
  /** The DNS-SD instance name it announced. */
  name: z.string(),
  /** The DID its announcement names (checked against its signed node document only when it is added). */
  did: DidSchema,
  /** The first address to reach it at (IPv4 first). */
  url: z.string(),
  urls: z.array(z.string()),
  /** Its mDNS host name (`….local`). */
  host: z.string(),
  lastSeen: TimestampSchema,
  /** Whether it is already one of this node's peers. */
  known: z.boolean().optional(),
});
export type DiscoveredPeer = z.infer<typeof DiscoveredPeerSchema>;

/** `GET /api/peers/discovered` 200. `enabled` false: LAN discovery is off (`federation.mdns.enabled`), the list is empty. */
export const DiscoveredPeerListResponseSchema = z.object({ enabled: z.boolean(), advertising: z.boolean(), peers: z.array(DiscoveredPeerSchema) });
export type DiscoveredPeerListResponse = z.infer<typeof DiscoveredPeerListResponseSchema>;
