/**
 * @module status
 * `GET /healthz` and `GET /api/status`: liveness of the server and a summary of the registry.
 */
import { z } from "zod";
import { ServiceStatusSchema } from "./service.js";
import { TimestampSchema } from "./common.js";

export const HealthzResponseSchema = z.object({ status: z.literal("ok") });

export const StatusResponseSchema = z.object({
  node: z.object({
    version: z.string(),
    startedAt: TimestampSchema,
    uptimeSeconds: z.number(),
    storage: z.string(),
  }),
  registry: z.object({
    /** Services the caller can see, by status. */
    services: z.number(),
    byStatus: z.record(ServiceStatusSchema, z.number()),
    revision: z.int(),
    /** Mass-expiry guard: when engaged, lease expiry is held back and this says since when and why. */
    expiryGuard: z.object({
      engaged: z.boolean(),
      since: TimestampSchema.nullable(),
      heldBack: z.int(),
      reason: z.string().nullable(),
    }),
    watchers: z.int(),
  }),
  caller: z.object({ owner: z.string(), scopes: z.array(z.string()) }),
});
export type StatusResponse = z.infer<typeof StatusResponseSchema>;
