/**
 * @module agents/kcore/plan-for-request
 * The plan a new task runs: the caller's own plan; one step for a named agent (its capability given, or the
 * agent's only skill) or for a capability; otherwise kPlanner's plan for the goal (the Planner port; without a
 * planner the create is refused with `planner_unavailable`, never run on an invented plan).
 */
import { randomUUID } from "node:crypto";
import { AGENT_METADATA_KEY, AgentRecordMetadataSchema, PlanSchema, type CreateTaskRequest, type Plan } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import type { RegistryService } from "../../registry/registry-service.js";
import { ApiError } from "../../errors.js";
import type { Planner } from "../ports.js";

export interface PlanSources {
  registry: RegistryService;
  /** kPlanner; absent until the mesh provides one. */
  planner: () => Planner | undefined;
}

export async function planForRequest(sources: PlanSources, request: CreateTaskRequest, principal: Principal): Promise<{ plan: Plan; planId: string }> {
  if (request.plan) return { plan: request.plan, planId: `plan_${randomUUID()}` };
  if (request.agent !== undefined || request.capability !== undefined) {
    let capability = request.capability;
    if (capability === undefined) {
      const record = await sources.registry.get(principal, request.agent!);
      const metadata = AgentRecordMetadataSchema.safeParse(record.metadata?.[AGENT_METADATA_KEY]);
      const offered = [...new Set(metadata.success ? metadata.data.skills.map((skill) => skill.capability) : record.capabilities)];
      if (offered.length !== 1) {
        throw new ApiError("validation_failed", "which capability of the agent?", [
          { path: "capability", message: `is required: agent ${request.agent} offers ${offered.length === 0 ? "none" : offered.join(", ")}` },
        ]);
      }
      capability = offered[0]!;
    }
    const plan = PlanSchema.parse({
      goal: request.goal,
      steps: [{ id: "main", capability, input: request.input, ...(request.agent !== undefined ? { agent: request.agent } : {}) }],
    });
    return { plan, planId: `plan_${randomUUID()}` };
  }
  const planner = sources.planner();
  if (!planner) throw new ApiError("planner_unavailable", "no planner is available on this node: give a plan, an agent or a capability");
  // The planner sees the task's input too (as `context.input`), so that it can wire it into the steps that need it.
  const hasInput = Object.keys(request.input).length > 0;
  const context = hasInput ? { input: request.input, ...request.context } : request.context;
  const planned = await planner.plan({ goal: request.goal, ...(context ? { context } : {}) }, principal);
  return { plan: planned.plan, planId: planned.planId };
}
