/**
 * @module gateway-front-door
 * The gateway's own request and answer shapes (the OpenAI-compatible `/v1/*` routes use the OpenAI shapes of
 * `gateway-openai.ts`). `POST /api/route/{capability}` is the seed's generic form: any capability, the
 * provider-neutral request, optional routing hints, and an answer that says which service served it.
 */
import { z } from "zod";
import { IdentifierSchema } from "./common.js";
import { RoutingHintsSchema } from "./gateway-routing.js";

/** Response headers on every gateway answer (also on `/v1/*`), so OpenAI clients can read them too. */
export const GATEWAY_HEADERS = {
  /** The id of the service that answered. */
  service: "x-kai-service",
  /** The connector (provider) of the service that answered, e.g. `openai`, `ollama`. */
  provider: "x-kai-provider",
  /** Upstream calls made (1 when the first candidate answered). */
  attempts: "x-kai-attempts",
  /** What the gateway itself added, in ms (routing, auth, translation; not upstream time). */
  overhead: "x-kai-overhead-ms",
  /** Request extension on `/v1/*`: routing hints as JSON (same shape as `routingHints`). */
  routing: "x-kai-routing",
} as const;

export const RouteRequestSchema = z.strictObject({
  /**
   * The provider-neutral request for the capability: an OpenAI chat request for `llm_chat`, embeddings request
   * for `embeddings`, images request for `image_generation`, the vector or workflow request shapes for
   * `vector_storage` / `workflow_orchestration`.
   */
  request: z.unknown(),
  /** For capabilities with more than one operation (`vector_storage`: query, upsert, …). */
  operation: z.string().min(1).max(64).optional(),
  routingHints: RoutingHintsSchema.optional(),
});
export type RouteRequest = z.infer<typeof RouteRequestSchema>;

export const ServedBySchema = z.object({
  id: IdentifierSchema,
  provider: z.string().optional(),
  name: z.string().optional(),
});
export type ServedBy = z.infer<typeof ServedBySchema>;

export const RouteResponseSchema = z.object({
  response: z.unknown(),
  servedBy: ServedBySchema,
  /** Upstream calls made, failovers included. */
  attempts: z.int().min(1),
  /** What the gateway added, ms. */
  overheadMs: z.number().min(0),
});
export type RouteResponse = z.infer<typeof RouteResponseSchema>;

/** `POST /api/services/{id}/check`: a live probe of one service through its connector. */
export const ServiceCheckResponseSchema = z.object({
  serviceId: IdentifierSchema,
  provider: z.string().optional(),
  ok: z.boolean(),
  latencyMs: z.number().min(0),
  code: z.string().optional(),
  message: z.string().optional(),
  /** Models the provider lists (when it lists any and the probe succeeded). */
  models: z.array(z.string()).optional(),
});
export type ServiceCheckResponse = z.infer<typeof ServiceCheckResponseSchema>;
