/**
 * @module http/routes/cluster
 * The routes of a node made of several instances: `GET /api/cluster` (admin: every live instance, the leader and
 * its singleton jobs, the shared database and cache) and `GET /readyz` (public probe: may a load balancer send
 * this instance requests?). Both read what the cluster knows through providers the composition root passes in,
 * so this module knows nothing of how instances find each other.
 */
import type { FastifyBaseLogger } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ClusterResponseSchema, ErrorBodySchema, ReadyzNotReadySchema, ReadyzReadySchema, type ClusterResponse, type ReadinessReason } from "@kai/protocol";
import { storageUnavailableIn } from "../../errors.js";

/** `GET /api/cluster`'s answer, read fresh on every call (membership rows, leadership, cache state). */
export type ClusterProvider = () => Promise<ClusterResponse>;

/** Whether this instance can serve; `reasons` is empty when it can. */
export interface Readiness {
  ready: boolean;
  reasons: ReadinessReason[];
}
export type ReadinessProvider = () => Promise<Readiness>;

/** Used when no readiness provider is given: an instance that answers HTTP is ready. */
export const alwaysReady: ReadinessProvider = async () => ({ ready: true, reasons: [] });

/**
 * Removes the user and password of any URL in a storage description. The store's description is meant to carry
 * none; this keeps a careless one (`postgres://kai:secret@db/kai`) from reaching even an admin's screen.
 */
export function withoutCredentials(description: string): string {
  return description.replace(/\/\/[^/@\s]*@/g, "//");
}

export function clusterRoutes(getCluster: ClusterProvider): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/cluster", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "Instances of this node, the leader and its singleton jobs, the shared database and cache (admin)",
        description:
          "Every live instance (membership rows fresher than `cluster.memberTimeoutMs`), this one included. The leader runs every " +
          "singleton job; `leader` is null between a leader's death and its successor's election. A single process on SQLite " +
          "answers mode `single` with itself as the one instance and leader.",
        security: [{ bearer: [] }],
        response: { 200: ClusterResponseSchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema, 503: ErrorBodySchema },
      },
    }, async () => {
      const cluster = await getCluster();
      return { ...cluster, storage: { ...cluster.storage, description: withoutCredentials(cluster.storage.description) } };
    });
  };
}

/**
 * What `/readyz` answers. A provider that fails is itself a reason not to send this instance traffic; what it
 * threw is logged by name only (a database error's text can carry a host or user).
 */
async function readinessOf(readiness: ReadinessProvider, log: FastifyBaseLogger): Promise<Readiness> {
  try {
    return await readiness();
  } catch (error) {
    const storage = storageUnavailableIn(error) !== undefined;
    log.warn({ error: error instanceof Error ? error.name : typeof error }, "readiness check failed");
    return { ready: false, reasons: [storage ? "database unreachable" : "readiness check failed"] };
  }
}

/**
 * `GET /readyz`, outside the bearer scope like `/healthz`. `closing` is true once shutdown has begun: the instance
 * then answers not ready (and closes the connection) so that a load balancer stops sending it requests at once.
 */
export function readinessRoute(readiness: ReadinessProvider, closing: () => boolean): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/readyz", {
      schema: {
        tags: ["node"],
        summary: "Readiness probe (no authentication)",
        description:
          "200 `{\"status\":\"ready\"}` while this instance can serve; 503 `{\"status\":\"not_ready\",\"reasons\":[…]}` while it cannot " +
          "(database unreachable, vault locked, catching up with the event log, shutting down), so that a load balancer takes it out. " +
          "Liveness is `/healthz`: a not-ready instance is alive and recovers by itself.",
        response: { 200: ReadyzReadySchema, 503: ReadyzNotReadySchema },
      },
    }, async (request, reply) => {
      const verdict: Readiness = closing() ? { ready: false, reasons: ["shutting down"] } : await readinessOf(readiness, request.log);
      // A probe's answer is about this moment: nothing between the prober and us may keep it.
      reply.header("Cache-Control", "no-store");
      if (verdict.ready) return reply.status(200).send({ status: "ready" as const });
      if (closing()) reply.header("Connection", "close");
      return reply.status(503).send({ status: "not_ready" as const, reasons: [...new Set(verdict.reasons)] });
    });
  };
}
