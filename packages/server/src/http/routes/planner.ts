/**
 * @module http/routes/planner
 * `POST /api/planner/plan` (the seed's `/planner/plan`, under `/api` like every route): kPlanner turns a goal (and
 * context) into a validated plan, asking a language model through the gateway as the caller. Scope `tasks:run`: a plan
 * is the first half of running a task. It draws on the `gateway` bucket, since every plan costs model calls.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBodySchema, PlanRequestSchema, PlanResponseSchema } from "@kai/protocol";
import type { Planner } from "../../agents/ports.js";
import { principalOf } from "../authenticate.js";
import { clientGoneSignal } from "../front-doors/request-context.js";

const errors = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
  404: ErrorBodySchema,
  422: ErrorBodySchema,
  429: ErrorBodySchema,
  502: ErrorBodySchema,
  503: ErrorBodySchema,
  504: ErrorBodySchema,
};

export function plannerRoutes(planner: Planner): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/planner/plan", {
      config: { scopes: ["tasks:run"], bucket: "gateway" },
      schema: {
        tags: ["agents"],
        summary: "Plan a goal: a DAG of steps, each with the capability it needs and the agent chosen (kPlanner)",
        description:
          "Asks a language model (through this node's gateway, as the caller) for a plan, validated against the plan schema and the capabilities the caller can use now; an invalid answer is re-asked with its problems (`agents.planner.attempts`, default 3), then 422 `plan_invalid` lists the last problems. With no model the caller may use: 503 `planner_unavailable`.",
        security: [{ bearer: [] }],
        body: PlanRequestSchema,
        response: { 200: PlanResponseSchema, ...errors },
      },
    }, async (request, reply) =>
      // A caller that hangs up stops the model call too (it costs tokens, and nobody would read the plan).
      planner.plan(request.body, principalOf(request), { signal: clientGoneSignal(request, reply), requestId: request.id }));
  };
}
