/**
 * @module http/routes/status
 * `GET /api/status`: the node and a summary of the registry as the caller sees it (any valid token).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBodySchema, StatusResponseSchema, type StatusResponse } from "@kai/protocol";
import { principalOf } from "../authenticate.js";

export type StatusProvider = (principal: ReturnType<typeof principalOf>) => Promise<StatusResponse>;

export function statusRoutes(getStatus: StatusProvider): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/status", {
      config: { scopes: [], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "Node and registry status",
        security: [{ bearer: [] }],
        response: { 200: StatusResponseSchema, 401: ErrorBodySchema, 429: ErrorBodySchema },
      },
    }, async (request) => getStatus(principalOf(request)));
  };
}
