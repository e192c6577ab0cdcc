/**
 * @module planner
 * `client.planner`: kPlanner (`POST /api/planner/plan`, scope `tasks:run`): a goal and context in, a validated plan
 * out (a DAG of steps, each with its capability, wired inputs and chosen agent). The node asks a language model, maybe
 * several times, so the call gets a model call's patience rather than a registry call's.
 */
import { PlanResponseSchema, type PlanRequest, type PlanResponse } from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";

/** A planner answer can take several model answers (an invalid one is re-asked). */
const PLAN_TIMEOUT_MS = 300_000;

export interface PlannerClient {
  /**
   * A plan for `request.goal`. Fails with `plan_invalid` (422: the model gave no valid plan; `details` lists the last
   * problems) or `planner_unavailable` (503: no language model the token may use).
   */
  plan(request: PlanRequest, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<PlanResponse>;
}

export function createPlannerClient(http: HttpTransport): PlannerClient {
  return {
    plan: async (request, options) =>
      (
        await http.request("POST", "/api/planner/plan", {
          body: request,
          schema: PlanResponseSchema,
          timeoutMs: options?.timeoutMs ?? PLAN_TIMEOUT_MS,
          ...(options?.signal ? { signal: options.signal } : {}),
        })
      ).data,
  };
}
