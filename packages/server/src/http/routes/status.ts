/**
 * @module http/routes/status
 * `GET /api/status`: the node, a summary of the registry as the caller sees it, and the cluster in a few fields
 * (any valid token). The node's part and the cluster's part come from two providers: the cluster summary is the
 * same for every caller and is owned by whatever knows the instances.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBodySchema, StatusResponseSchema, type ClusterSummary, type StatusResponse } from "@kai/protocol";
import { principalOf } from "../authenticate.js";

/** Everything of the status but the cluster summary. */
export type NodeStatus = Omit<StatusResponse, "cluster">;
export type StatusProvider = (principal: ReturnType<typeof principalOf>) => Promise<NodeStatus>;
/** This instance, the leader, live instances, mode and cache; synchronous when the answer is already in memory. */
export type ClusterSummaryProvider = () => ClusterSummary | Promise<ClusterSummary>;

export function statusRoutes(getStatus: StatusProvider, clusterSummary: ClusterSummaryProvider): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/status", {
      config: { scopes: [], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "Node, registry and cluster status",
        security: [{ bearer: [] }],
        response: { 200: StatusResponseSchema, 401: ErrorBodySchema, 429: ErrorBodySchema, 503: ErrorBodySchema },
      },
    }, async (request): Promise<StatusResponse> => {
      const [node, cluster] = await Promise.all([getStatus(principalOf(request)), clusterSummary()]);
      return { ...node, cluster };
    });
  };
}
