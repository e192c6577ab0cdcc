/**
 * @module http/routes/agents-a2a
 * `POST /api/agents/a2a` (issue 16): add an external A2A agent by URL. The node reads its agent card with the
 * official A2A SDK and registers it as a record of type `agent` (transport and source `a2a`) owned by the caller;
 * it then keeps the record fresh by reading the card again. Listing, reading and removing go through the agent
 * routes (`/api/agents...`): removing the record ends its refresh.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { AddA2aAgentRequestSchema, ErrorBodySchema, ServiceRecordSchema } from "@kai/protocol";
import type { A2aAgents } from "../../agents/a2a/client/a2a-agents.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema };

export function agentsA2aRoutes(a2a: A2aAgents): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/agents/a2a", {
      config: { scopes: ["agents:write"], bucket: "write" },
      schema: {
        tags: ["agents"],
        summary: "Add an external A2A agent by the URL of its agent card (or add it again: the card is read anew)",
        description:
          "`url` is the agent's base URL (the card is read from `/.well-known/agent-card.json` under it) or the card's own URL " +
          "(a path ending in `.json`). The card must offer a JSON-RPC interface and at least one skill; each skill's id (and tags) " +
          "become capabilities. 201 new, 200 added again; 502 `agent_card_unreadable` when the card cannot be read or used; " +
          "409 `conflict` when the id is taken by another owner or by an agent that is not an A2A agent.",
        security: [{ bearer: [] }],
        body: AddA2aAgentRequestSchema,
        response: { 200: ServiceRecordSchema, 201: ServiceRecordSchema, ...errors },
      },
    }, async (request, reply) => {
      const { record, created } = await a2a.add(principalOf(request), request.body);
      return reply.status(created ? 201 : 200).send(record);
    });
  };
}
