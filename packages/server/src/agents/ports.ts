/**
 * @module agents/ports
 * The narrow interfaces the parts of the agent mesh use of each other, so that each part (agent directory,
 * kPlanner, kCore, the bus) depends on what it needs and not on another's internals. The composition root
 * (agents/open-agent-mesh.ts) plugs the real parts in.
 */
import type { AgentStatusResponse, PlanRequest, PlanResponse } from "@kai/protocol";
import type { Principal } from "../auth/principal.js";

/** How one planning call is tied to its caller: cancelled when the caller goes away or the task is cancelled. */
export interface PlanCallOptions {
  signal?: AbortSignal;
  /** Forwarded to the model's service as X-Request-Id, so its logs line up with ours. */
  requestId?: string;
}

/** kPlanner: turns a goal into a validated plan (agents/planner/). */
export interface Planner {
  plan(request: PlanRequest, principal: Principal, options?: PlanCallOptions): Promise<PlanResponse>;
}

/** What kCore knows about the load it puts on agents (agents/kcore/); the agent directory shows it in /api/agent/status. */
export interface AgentLoad {
  /** Steps running on `agentId` now, and the ids of the tasks they belong to. */
  of(agentId: string): { running: number; tasks: string[] };
}

/** The agent directory (agents/directory/): agents as registry records, and their status. */
export interface AgentStatusSource {
  status(principal: Principal): Promise<AgentStatusResponse>;
}
