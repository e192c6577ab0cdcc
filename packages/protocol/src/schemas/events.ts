/**
 * @module events
 * The orchestration bus's one message shape (seed 002's WebSocketMessage: `type`, `agent`, `taskId`, `payload`,
 * `timestamp`, `correlationId`), carried on every transport: in-process, Redis or NATS between instances,
 * `/ws/events` and `GET /api/events` (SSE) to clients. Task events carry `seq`, their per-task sequence number,
 * assigned when the event is stored (before it is sent), so a reconnecting client resumes after the last one
 * it saw and misses nothing; `id` is unique per event for every type.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

/** The seed's seven message types, plus registry changes (the registry's stream, on the same bus). */
export const BUS_EVENT_TYPES = [
  "AGENT_RESULT",
  "AGENT_ERROR",
  "TASK_PROGRESS",
  "SYSTEM_STATUS",
  "USER_NOTIFICATION",
  "CONFIG_UPDATE",
  "HEARTBEAT",
  "REGISTRY_CHANGE",
] as const;
export const BusEventTypeSchema = z.enum(BUS_EVENT_TYPES);
export type BusEventType = z.infer<typeof BusEventTypeSchema>;

export const BusEventSchema = z.object({
  /** Unique per event (a UUID): a consumer that sees an id twice (at-least-once buses) drops the second. */
  id: z.string(),
  type: BusEventTypeSchema,
  /** The agent the event is about or from (`kExecutor:webscraper`), or `kCore:<node>` for the orchestrator's own. */
  agent: z.string().optional(),
  taskId: z.string().optional(),
  planId: z.string().optional(),
  /** Task events only: the per-task sequence number (1, 2, …), gap-free. */
  seq: z.int().min(1).optional(),
  payload: z.record(z.string(), z.unknown()),
  timestamp: TimestampSchema,
  correlationId: z.string().optional(),
  /**
   * Who may receive the event besides admins (a task's owner, a notification's recipient). Without it, an event
   * with a `taskId` goes to admins only (its owner is unknown), any other to every subscriber allowed `agents:read`.
   */
  owner: z.string().optional(),
});
export type BusEvent = z.infer<typeof BusEventSchema>;

const repeatable = <T extends z.ZodType>(item: T) =>
  z
    .union([item, z.array(item).max(16)])
    .transform((value): z.output<T>[] => (Array.isArray(value) ? value : [value]))
    .optional();

/** Which events a subscriber wants (`/ws/events` query or subscribe message, `GET /api/events` query). All given must match. */
export const BusEventFilterSchema = z.strictObject({
  type: repeatable(BusEventTypeSchema),
  task: z.string().min(1).max(200).optional(),
  agent: z.string().min(1).max(200).optional(),
  /** With `task`: replay that task's stored events after this sequence number first, then continue live. */
  after: z.coerce.number().int().min(0).optional(),
});
export type BusEventFilterInput = z.input<typeof BusEventFilterSchema>;
export type BusEventFilter = z.output<typeof BusEventFilterSchema>;

/** True when `event` passes `filter` (the server's fan-out and clients keeping a local view use the same rule). */
export function matchesBusFilter(event: BusEvent, filter: BusEventFilter): boolean {
  if (filter.type && !filter.type.includes(event.type)) return false;
  if (filter.task !== undefined && event.taskId !== filter.task) return false;
  if (filter.agent !== undefined && event.agent !== filter.agent) return false;
  return true;
}

/**
 * Sent to a subscriber instead of events it could not keep up with: the subscription is closed; `lastSeq` per task
 * tells where to resume (tasks' events are stored, so nothing is lost to a client that reconnects with `after`).
 */
export const BusDroppedNoticeSchema = z.object({
  dropped: z.literal(true),
  reason: z.enum(["slow_consumer", "shutting_down"]),
  /** For a task subscription: the last sequence number delivered. */
  lastSeq: z.int().optional(),
});
export type BusDroppedNotice = z.infer<typeof BusDroppedNoticeSchema>;

/** The SSE `event:` names of `GET /api/events`: a bus event, or the notice that ends a dropped subscription. */
export const BUS_STREAM_EVENTS = { event: "bus", dropped: "dropped" } as const;

/** `/ws/events`, client → server: replace the subscription's filter (a task filter with `after` replays first). */
export const EventsClientMessageSchema = z.object({ type: z.literal("subscribe"), filter: BusEventFilterSchema.default({}) });
export type EventsClientMessage = z.input<typeof EventsClientMessageSchema>;

/** `/ws/events`, server → client: an event, a dropped notice (the socket closes after it), or a refused message. */
export const EventsServerMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("event"), event: BusEventSchema }),
  z.object({ type: z.literal("dropped"), notice: BusDroppedNoticeSchema }),
  z.object({ type: z.literal("error"), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type EventsServerMessage = z.infer<typeof EventsServerMessageSchema>;
