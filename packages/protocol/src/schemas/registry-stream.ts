/**
 * @module registry-stream
 * Messages of the registry change stream (`/ws/registry`). The client subscribes with a filter and an
 * optional revision to resume from; the server answers with a snapshot (or the missed events) and then
 * live events in revision order. A client that falls behind gets a fresh snapshot, never a silent gap.
 * One connection may carry many subscriptions, each named by the client (`id`): the server then sends each change
 * once per connection, listing the subscriptions it concerns (`subscriptions`), instead of once per subscriber.
 */
import { z } from "zod";
import { ServiceFilterSchema } from "./query.js";
import { ServiceRecordSchema } from "./service.js";
import { ErrorBodySchema } from "./errors.js";

export const REGISTRY_EVENT_TYPES = ["registered", "updated", "status_changed", "deregistered"] as const;
export const RegistryEventTypeSchema = z.enum(REGISTRY_EVENT_TYPES);
export type RegistryEventType = z.infer<typeof RegistryEventTypeSchema>;

/** One change to the registry. `service` is the new state (the last state for `deregistered`). */
export const RegistryEventSchema = z.object({
  event: RegistryEventTypeSchema,
  revision: z.int(),
  service: ServiceRecordSchema,
});
export type RegistryEvent = z.infer<typeof RegistryEventSchema>;

/**
 * A subscription's name on its connection, chosen by the client. Without one, a `subscribe` replaces the connection's
 * single unnamed subscription (the original protocol); with one, it adds (or replaces) that named subscription.
 */
export const SubscriptionIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "1–64 letters, digits, '_', '.', ':' or '-'");

export const SubscribeMessageSchema = z.strictObject({
  type: z.literal("subscribe"),
  id: SubscriptionIdSchema.optional(),
  filter: ServiceFilterSchema.optional(),
  /** The last revision the client has seen; the server sends what came after it. */
  fromRevision: z.int().min(0).optional(),
  /**
   * The registry epoch that `fromRevision` belongs to (from an earlier snapshot or resumed message). When it
   * differs from the server's, the revision means nothing here (wiped data, another node) and a fresh snapshot follows.
   */
  epoch: z.string().min(1).max(64).optional(),
});
/** Ends a named subscription (an unknown id is ignored: the server may have dropped it already). */
export const UnsubscribeMessageSchema = z.strictObject({ type: z.literal("unsubscribe"), id: SubscriptionIdSchema });
export const PingMessageSchema = z.strictObject({ type: z.literal("ping") });
export const ClientStreamMessageSchema = z.discriminatedUnion("type", [SubscribeMessageSchema, UnsubscribeMessageSchema, PingMessageSchema]);
export type SubscribeMessage = z.infer<typeof SubscribeMessageSchema>;
export type UnsubscribeMessage = z.infer<typeof UnsubscribeMessageSchema>;
export type ClientStreamMessage = z.infer<typeof ClientStreamMessageSchema>;

/**
 * Why the server sent a snapshot: first subscription, resume point no longer retained, the client lagged,
 * the resume point came from another epoch of the registry, or the subscription includes records imported
 * from federation peers (`location` remote/all, or `origin`), whose changes are not replayed.
 */
export const SnapshotReasonSchema = z.enum(["subscribe", "too_far_behind", "lagging", "epoch_changed", "includes_remote"]);

/** Identifies one registry history: revisions are comparable only within the same epoch. */
const EpochSchema = z.string().min(1).max(64);

export const SnapshotMessageSchema = z.object({
  type: z.literal("snapshot"),
  /** The named subscription this snapshot is for (absent for the unnamed one). */
  subscription: SubscriptionIdSchema.optional(),
  revision: z.int(),
  epoch: EpochSchema,
  reason: SnapshotReasonSchema,
  services: z.array(ServiceRecordSchema),
});
/**
 * A change as a subscriber sees it. Normally `service` is the new state. When the change takes the service
 * out of the subscriber's sight (it became private to someone else), `reason` is `hidden` and `service` is
 * absent: the subscriber learns only that `serviceId` left its view, nothing about the new state.
 */
export const EventMessageSchema = z.object({
  type: z.literal("event"),
  /**
   * The named subscriptions this change is for; absent when it is for the connection's unnamed subscription. A
   * change that concerns several named subscriptions of one connection is sent once, naming all of them.
   */
  subscriptions: z.array(SubscriptionIdSchema).min(1).optional(),
  event: RegistryEventTypeSchema,
  revision: z.int(),
  serviceId: z.string(),
  service: ServiceRecordSchema.optional(),
  reason: z.enum(["hidden"]).optional(),
  /**
   * Set on changes to records imported from a federation peer: the origin node's DID. Such an event's
   * `revision` is this node's current revision (the change does not advance it); `service.revision` is
   * the origin's.
   */
  origin: z.string().optional(),
});
/** Sent after a replay of missed events, so the client knows it is live. */
export const ResumedMessageSchema = z.object({
  type: z.literal("resumed"),
  subscription: SubscriptionIdSchema.optional(),
  fromRevision: z.int(),
  revision: z.int(),
  epoch: EpochSchema,
});
/**
 * Sent on idle streams so that a client can resume from a recent revision. It applies to every subscription of the
 * connection; the server sends it only while all of them are live (never to one awaiting a snapshot).
 */
export const ProgressMessageSchema = z.object({ type: z.literal("progress"), revision: z.int() });
export const PongMessageSchema = z.object({ type: z.literal("pong"), revision: z.int() });
/** A refused message; `subscription` names the subscription it concerned (its subscribe failed, or it ended). */
export const StreamErrorMessageSchema = ErrorBodySchema.extend({ type: z.literal("error"), subscription: SubscriptionIdSchema.optional() });

export const ServerStreamMessageSchema = z.discriminatedUnion("type", [
  SnapshotMessageSchema,
  EventMessageSchema,
  ResumedMessageSchema,
  ProgressMessageSchema,
  PongMessageSchema,
  StreamErrorMessageSchema,
]);
export type SnapshotMessage = z.infer<typeof SnapshotMessageSchema>;
export type EventMessage = z.infer<typeof EventMessageSchema>;
export type ServerStreamMessage = z.infer<typeof ServerStreamMessageSchema>;
