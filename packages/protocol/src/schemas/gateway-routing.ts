/**
 * @module gateway-routing
 * Per-request routing hints a caller may give the gateway's capability router (`routingHints` of
 * `POST /api/route/{capability}`, or the `x-kai-routing` extension of the OpenAI front door).
 */
import { z } from "zod";
import { IdentifierSchema } from "./common.js";
import { TagSchema } from "./service.js";

/** How the router orders the candidates: the first is tried first, the rest are the failover order. */
export const ROUTING_STRATEGIES = ["priority", "weighted", "least_latency", "least_in_flight", "lowest_cost"] as const;
export const RoutingStrategySchema = z.enum(ROUTING_STRATEGIES);
export type RoutingStrategy = z.infer<typeof RoutingStrategySchema>;

export const RoutingHintsSchema = z.strictObject({
  /** Only services carrying every one of these tags. */
  tags: z.array(TagSchema).max(32).optional(),
  /** Try local services (loopback/private address, or `isLocal`) before remote ones. */
  preferLocal: z.boolean().optional(),
  /** Skip services whose recent latency (EWMA) is above this, ms. Services not yet measured pass. */
  maxLatencyMs: z.number().positive().max(3_600_000).optional(),
  /** Overrides the router's default strategy for this request. */
  strategy: RoutingStrategySchema.optional(),
  /** Explicit failover order: only these services, tried in this order. */
  fallback: z.array(IdentifierSchema).min(1).max(32).optional(),
  /** Pins the request to one service (the same as `model: "<serviceId>/<model>"`). */
  serviceId: IdentifierSchema.optional(),
});
export type RoutingHints = z.infer<typeof RoutingHintsSchema>;
