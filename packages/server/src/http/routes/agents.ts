/**
 * @module http/routes/agents
 * The agent directory's routes (issue 16): register an agent by its signed manifest, list, read and remove agents
 * (registry records of type `agent`), and `GET /api/agent/status`, every visible agent with its load and tasks.
 * Heartbeats go to the registry's own route (`POST /api/services/{id}/heartbeat`): an agent's lease is a record's.
 */
import { z } from "zod";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  AgentIdParamsSchema,
  AgentStatusResponseSchema,
  ErrorBodySchema,
  ListAgentsQuerySchema,
  ListAgentsResponseSchema,
  ServiceRecordSchema,
  SignedAgentManifestSchema,
} from "@kai/protocol";
import type { AgentDirectory } from "../../agents/directory/agent-directory.js";
import type { AgentRuntime } from "../../agents/runtime/agent-runtime.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];

/** `runs`: the agents the node runs itself, whose run state `GET /api/agent/status` shows on their agents. */
export function agentsRoutes(directory: AgentDirectory, runs?: Pick<AgentRuntime, "list">): FastifyPluginAsyncZod {
  return async (app) => {
    /** The body as parsed from JSON, before the schema's defaults: what the agent signed. */
    const received = new WeakMap<FastifyRequest, unknown>();

    app.post("/api/agents", {
      config: { scopes: ["agents:write"], bucket: "write" },
      schema: {
        tags: ["agents"],
        summary: "Register an agent by its signed manifest (or register it again: same owner, same key)",
        description:
          "The manifest is signed with Ed25519 by the key its `did` names, over the JCS text of the JSON sent without `signature` " +
          "(400 `agent_signature_invalid` otherwise); `issuedAt` within the last 5 minutes and at most 1 minute ahead, and not " +
          "older than the registered manifest (400 `agent_manifest_stale`). An agent id stays bound to the DID that first " +
          "registered it (409 `agent_identity_mismatch`) until the agent is removed. Becomes a registry record of type `agent` " +
          "(201 new, 200 again); heartbeats go to `POST /api/services/{id}/heartbeat`.",
        security,
        body: SignedAgentManifestSchema,
        response: { 200: ServiceRecordSchema, 201: ServiceRecordSchema, ...errors },
      },
      preValidation: (request, _reply, done) => {
        received.set(request, request.body);
        done();
      },
    }, async (request, reply) => {
      const { record, created } = await directory.register(principalOf(request), received.get(request), request.body);
      return reply.status(created ? 201 : 200).send(record);
    });

    app.get("/api/agents", {
      config: { scopes: ["agents:read"], bucket: "read" },
      schema: {
        tags: ["agents"],
        summary: "List the agents the caller may see (registry records of type agent)",
        security,
        querystring: ListAgentsQuerySchema,
        response: { 200: ListAgentsResponseSchema, ...errors },
      },
    }, async (request) => directory.list(principalOf(request), request.query));

    app.get("/api/agents/:id", {
      config: { scopes: ["agents:read"], bucket: "read" },
      schema: { tags: ["agents"], summary: "Read one agent", security, params: AgentIdParamsSchema, response: { 200: ServiceRecordSchema, ...errors } },
    }, async (request) => directory.get(principalOf(request), request.params.id));

    app.delete("/api/agents/:id", {
      config: { scopes: ["agents:write"], bucket: "write" },
      schema: {
        tags: ["agents"],
        summary: "Remove an agent (owner or admin); its id is then free to be registered by another key",
        security,
        params: AgentIdParamsSchema,
        response: { 204: z.null().describe("Removed"), ...errors },
      },
    }, async (request, reply) => {
      await directory.remove(principalOf(request), request.params.id);
      return reply.status(204).send(null);
    });

    app.get("/api/agent/status", {
      config: { scopes: ["agents:read"], bucket: "read" },
      schema: {
        tags: ["agents"],
        summary: "Every agent the caller may see: status, capabilities, load and current tasks",
        security,
        response: { 200: AgentStatusResponseSchema, ...errors },
      },
    }, async (request) => {
      const principal = principalOf(request);
      const status = await directory.status(principal);
      if (!runs) return status;
      const states = new Map((await runs.list(principal)).map((state) => [state.id, state]));
      return { ...status, agents: status.agents.map((agent) => (states.has(agent.id) ? { ...agent, run: states.get(agent.id)! } : agent)) };
    });
  };
}
