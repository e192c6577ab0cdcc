/**
 * @module http/routes/agents-runtime
 * Agents the node runs itself (issue 16, docs/agents/runtime.md): `POST /api/agents/{id}/start|stop` (admins, or
 * the user a run-agent's spec names as owner; scope `agents:write`), their run states (`GET /api/agents/run`,
 * `GET /api/agents/{id}/run`, scope `agents:read`), and `POST /api/agents/run` to add one while the node runs
 * (admins only: it runs a command on the node). A run-agent the caller may not see is a 404, as one that does not exist.
 * On a node of many instances the leader runs them: any instance answers with the leader's view (`instance` says whose).
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { AgentIdParamsSchema, AgentRunListResponseSchema, AgentRunStateSchema, ErrorBodySchema, RunAgentSpecSchema } from "@kai/protocol";
import type { AgentRuntime } from "../../agents/runtime/agent-runtime.js";
import { ApiError } from "../../errors.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema, 503: ErrorBodySchema };
const security = [{ bearer: [] }];

export function agentsRuntimeRoutes(runtime: AgentRuntime): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/agents/run", {
      config: { scopes: ["agents:read"], bucket: "read" },
      schema: {
        tags: ["agents"],
        summary: "The agents this node runs itself, with their run state (admins see all; others those naming them as owner)",
        description: "On a node of many instances: the view of the leader, which runs them (`instance`), as it last reported it (within a heartbeat).",
        security,
        response: { 200: AgentRunListResponseSchema, ...errors },
      },
    }, async (request) => ({ agents: await runtime.list(principalOf(request)) }));

    app.post("/api/agents/run", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: {
        tags: ["agents"],
        summary: "Add an agent the node runs (admin): a command started as a child process and supervised until the node stops",
        description:
          "`env` maps variable names to the NAMES of vault secrets (read at each start, never stored or shown). The process gets " +
          "`KAI_URL`, `KAI_AGENT_ID` and `KAI_TOKEN` (a token for its own records only, revoked when it exits). Kept until the node " +
          "stops; put it in `agents.run` of the config to keep it. 201 with its run state; 409 `conflict` when the id is taken, " +
          "or on a node of many instances (there, run-agents come from the config of every instance).",
        security,
        body: RunAgentSpecSchema,
        response: { 201: AgentRunStateSchema, ...errors },
      },
    }, async (request, reply) => reply.status(201).send(await runtime.add(principalOf(request), request.body)));

    app.get("/api/agents/:id/run", {
      config: { scopes: ["agents:read"], bucket: "read" },
      schema: { tags: ["agents"], summary: "One agent the node runs: its run state", security, params: AgentIdParamsSchema, response: { 200: AgentRunStateSchema, ...errors } },
    }, async (request) => {
      const state = await runtime.stateOf(principalOf(request), request.params.id);
      if (!state) throw new ApiError("not_found", `the node runs no agent ${request.params.id}`);
      return state;
    });

    app.post("/api/agents/:id/start", {
      config: { scopes: ["agents:write"], bucket: "write" },
      schema: {
        tags: ["agents"],
        summary: "Start an agent the node runs (admin, or its owner); one running is left running",
        description: "Answers once the process is spawned (state `running`), or with the state it fell into (`backoff`, `crashed`) when it could not be.",
        security,
        params: AgentIdParamsSchema,
        response: { 200: AgentRunStateSchema, ...errors },
      },
    }, async (request) => runtime.start(principalOf(request), request.params.id));

    app.post("/api/agents/:id/stop", {
      config: { scopes: ["agents:write"], bucket: "write" },
      schema: {
        tags: ["agents"],
        summary: "Stop an agent the node runs (admin, or its owner): SIGTERM, SIGKILL after its grace; not restarted until started again",
        security,
        params: AgentIdParamsSchema,
        response: { 200: AgentRunStateSchema, ...errors },
      },
    }, async (request) => runtime.stop(principalOf(request), request.params.id));
  };
}
