/**
 * @module status
 * `GET /healthz`, `GET /readyz` and `GET /api/status`: liveness and readiness of this instance, and a summary
 * of the registry and of the cluster the instance belongs to.
 */
import { z } from "zod";
import { ServiceStatusSchema } from "./service.js";
import { TimestampSchema } from "./common.js";
import { ClusterSummarySchema } from "./cluster.js";

export const HealthzResponseSchema = z.object({ status: z.literal("ok") });

/**
 * Why an instance cannot serve now. A closed list on purpose: `/readyz` needs no token, so it says no more
 * than these few words (never an error message, a host or a URL).
 */
export const READINESS_REASONS = [
  "database unreachable",
  "vault locked",
  "catching up with the event log",
  "shutting down",
  // The check itself failed (a bug, or a part that did not answer): not sending traffic is the safe side.
  "readiness check failed",
] as const;
export const ReadinessReasonSchema = z.enum(READINESS_REASONS);
export type ReadinessReason = z.infer<typeof ReadinessReasonSchema>;

/** `GET /readyz` 200: this instance can serve; a load balancer may send it requests. */
export const ReadyzReadySchema = z.object({ status: z.literal("ready") });
/** `GET /readyz` 503: this instance cannot serve now; a load balancer takes it out until it is ready again. */
export const ReadyzNotReadySchema = z.object({ status: z.literal("not_ready"), reasons: z.array(ReadinessReasonSchema) });
export const ReadyzResponseSchema = z.discriminatedUnion("status", [ReadyzReadySchema, ReadyzNotReadySchema]);
export type ReadyzResponse = z.infer<typeof ReadyzResponseSchema>;

/** A certificate file the node presents: its own for HTTPS (`server.tls.certFile`), or its client one to peers. */
export const TlsCertificateStatusSchema = z.object({
  /** The setting that names the file: `server.tls.certFile` or `federation.tls.certFile`. */
  setting: z.enum(["server.tls.certFile", "federation.tls.certFile"]),
  /** The first certificate's subject and issuer, as `CN=…, O=…`. */
  subject: z.string(),
  issuer: z.string(),
  /** When the file's chain stops being valid: the earliest end of validity among its certificates. */
  notAfter: TimestampSchema,
});
export type TlsCertificateStatus = z.infer<typeof TlsCertificateStatusSchema>;

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/**
 * How long a certificate has left at `now` (or how long ago it expired), as `kai status` and the web app say it:
 * whole days from two days on, else whole hours (at least one). `days` is the whole days left (negative once expired).
 */
export function certificateTimeLeft(notAfter: string, now = Date.now()): { expired: boolean; days: number; words: string } {
  const left = Date.parse(notAfter) - now;
  const span = Math.abs(left);
  const words = span >= 2 * DAY_MS ? `${Math.floor(span / DAY_MS)} days` : `${Math.max(1, Math.floor(span / HOUR_MS))} hour(s)`;
  return { expired: left <= 0, days: Math.floor(left / DAY_MS), words };
}

/** The TLS files this instance uses now (issue 19: they are reloaded when they change on disk). */
export const TlsStatusSchema = z.object({
  certificates: z.array(TlsCertificateStatusSchema),
  /**
   * Sections whose files changed on disk but did not load (a key that does not match, a half-written file): the
   * instance still uses the last good ones, and its log says why.
   */
  notReloaded: z.array(z.enum(["server.tls", "federation.tls"])),
});
export type TlsStatus = z.infer<typeof TlsStatusSchema>;

export const StatusResponseSchema = z.object({
  node: z.object({
    version: z.string(),
    startedAt: TimestampSchema,
    uptimeSeconds: z.number(),
    storage: z.string(),
    /** Present when this instance uses TLS files (`server.tls` or `federation.tls`). */
    tls: TlsStatusSchema.optional(),
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
  /** This instance, the leader, how many instances are live, the mode and the cache (details: `GET /api/cluster`). */
  cluster: ClusterSummarySchema,
});
export type StatusResponse = z.infer<typeof StatusResponseSchema>;
