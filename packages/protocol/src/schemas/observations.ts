/**
 * @module observations
 * What a node has measured of its own gateway traffic, as JSON for people (the web app's overview and service
 * pages): `GET /api/metrics/summary` (right now and per minute over the last hour; by capability and by service)
 * and `GET /api/services/{id}/activity` (one service's traffic, breaker, health history and recent errors).
 * Prometheus (`GET /metrics`) stays the source for long-term storage and alerting; these are the same
 * measurements, kept in memory for an hour, by the instance that answers (`scope: "instance"`).
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";
import { ServiceHealthSchema, ServiceStatusSchema } from "./service.js";

/** Latency quantiles in ms, estimated from a histogram; null when there was no call to measure. */
const QuantileSchema = z.number().nonnegative().nullable();

/** Gateway calls over some span: how many, how many failed, and how long they took. */
export const TrafficTotalsSchema = z.object({
  requests: z.int().nonnegative(),
  errors: z.int().nonnegative(),
  /** errors / requests, 0 when there were none. */
  errorRate: z.number().min(0).max(1),
  p50Ms: QuantileSchema,
  p99Ms: QuantileSchema,
});
export type TrafficTotals = z.infer<typeof TrafficTotalsSchema>;

/** One minute of traffic (`at` is the minute's start). */
export const TrafficMinuteSchema = TrafficTotalsSchema.extend({ at: TimestampSchema });
export type TrafficMinute = z.infer<typeof TrafficMinuteSchema>;

/** The last hour's totals and its minutes, oldest first (every minute present, zeros where nothing happened). */
export const TrafficHourSchema = z.object({
  totals: TrafficTotalsSchema,
  minutes: z.array(TrafficMinuteSchema),
});
export type TrafficHour = z.infer<typeof TrafficHourSchema>;

export const BreakerStateSchema = z.enum(["closed", "open", "half_open"]);
export type BreakerStateName = z.infer<typeof BreakerStateSchema>;

/** A failed gateway call, as little as a person needs to find it in the logs (never a message from upstream). */
export const RecentErrorSchema = z.object({
  at: TimestampSchema,
  serviceId: z.string(),
  /** The stable error code (docs/api.md's error table). */
  code: z.string(),
  capability: z.string(),
  operation: z.string(),
  model: z.string().optional(),
  requestId: z.string().optional(),
  latencyMs: z.number().nonnegative(),
});
export type RecentError = z.infer<typeof RecentErrorSchema>;

/** A breaker that is not closed, for the overview. */
export const BreakerSummarySchema = z.object({
  serviceId: z.string(),
  state: BreakerStateSchema,
  /** Ms until the breaker lets a probe through, or until the service's own cooldown (429) ends. */
  retryAfterMs: z.number().nonnegative(),
});
export type BreakerSummary = z.infer<typeof BreakerSummarySchema>;

/** `GET /api/metrics/summary` (scope `metrics:read`). */
export const MetricsSummarySchema = z.object({
  generatedAt: TimestampSchema,
  /** What the answering instance measured (each instance of a cluster keeps its own). */
  scope: z.literal("instance"),
  windowMinutes: z.int().positive(),
  /** The current minute and the one before it (`windowSeconds` says how long that span is so far). */
  now: TrafficTotalsSchema.extend({ windowSeconds: z.int().positive(), inFlight: z.int().nonnegative() }),
  lastHour: TrafficHourSchema,
  /** Last hour by capability, most requests first. */
  byCapability: z.array(TrafficTotalsSchema.extend({ capability: z.string() })),
  /** Last hour by service, most requests first (at most 50). */
  byService: z.array(TrafficTotalsSchema.extend({ serviceId: z.string() })),
  /**
   * Services with a health check, by the checker's verdict as this instance heard it (node-wide, every owner);
   * services without a check are neither.
   */
  health: z.object({ passing: z.int().nonnegative(), failing: z.int().nonnegative() }),
  /** Services whose breaker is open or half-open now. */
  breakers: z.array(BreakerSummarySchema),
  /** The latest failed calls, newest first (at most 20). */
  recentErrors: z.array(RecentErrorSchema),
});
export type MetricsSummary = z.infer<typeof MetricsSummarySchema>;

/** `GET /api/services/{id}/activity` (scope `services:read`; a service the caller may see). */
export const ServiceActivitySchema = z.object({
  serviceId: z.string(),
  generatedAt: TimestampSchema,
  scope: z.literal("instance"),
  windowMinutes: z.int().positive(),
  status: ServiceStatusSchema,
  /** The health checker's verdict now (`unknown` without a health check). */
  health: ServiceHealthSchema,
  /** Changes of the health checker's verdict, oldest first (at most 50). */
  healthHistory: z.array(z.object({ at: TimestampSchema, health: ServiceHealthSchema })),
  breaker: z.object({
    state: BreakerStateSchema,
    retryAfterMs: z.number().nonnegative(),
    /** Its changes, oldest first (at most 50). */
    changes: z.array(z.object({ at: TimestampSchema, from: BreakerStateSchema, to: BreakerStateSchema })),
  }),
  /** The router's live view: calls in flight, smoothed latency, the last minute's requests and tokens. */
  runtime: z.object({
    inFlight: z.int().nonnegative(),
    ewmaLatencyMs: z.number().nonnegative().nullable(),
    requestsLastMinute: z.int().nonnegative(),
    tokensLastMinute: z.int().nonnegative(),
  }),
  traffic: TrafficHourSchema,
  /** Its latest failed calls, newest first (at most 20). */
  recentErrors: z.array(RecentErrorSchema),
});
export type ServiceActivity = z.infer<typeof ServiceActivitySchema>;
