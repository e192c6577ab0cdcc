/**
 * @module agents/planner/agent-choice
 * Which agent each step of a plan goes to. The model's pick stands when it is a healthy agent offering the step's
 * capability; otherwise the best healthy agent offering it: one with room first (fewer steps running than it
 * accepts), then the least loaded (kCore's AgentLoad), then the most trusted, then by id so the choice is stable.
 * No healthy agent: the step keeps no agent, and kCore gives it to a tool or a gateway service offering the capability.
 */
import type { Plan, TrustLevel } from "@kai/protocol";
import type { AgentLoad } from "../ports.js";
import type { AgentOffer } from "./capability-catalog.js";

const TRUST_RANK: Readonly<Record<TrustLevel, number>> = { system: 0, trusted: 1, unverified: 2 };

/** The best healthy agent offering `capability`, or undefined. */
export function bestAgentFor(capability: string, agents: readonly AgentOffer[], load: AgentLoad): AgentOffer | undefined {
  const ranked = agents
    .filter((agent) => agent.healthy && agent.capabilities.has(capability))
    .map((agent) => {
      const running = load.of(agent.id).running;
      return { agent, full: running >= agent.maxConcurrentTasks ? 1 : 0, running };
    })
    .sort((a, b) => a.full - b.full || a.running - b.running || TRUST_RANK[a.agent.trustLevel] - TRUST_RANK[b.agent.trustLevel] || (a.agent.id < b.agent.id ? -1 : a.agent.id > b.agent.id ? 1 : 0));
  return ranked[0]?.agent;
}

/** The plan with each step's `agent` decided (set, replaced, or removed). */
export function chooseAgents(plan: Plan, agents: readonly AgentOffer[], load: AgentLoad): Plan {
  const byId = new Map(agents.map((agent) => [agent.id, agent]));
  return {
    ...plan,
    steps: plan.steps.map((step) => {
      const picked = step.agent !== undefined ? byId.get(step.agent) : undefined;
      const { agent: _dropped, ...rest } = step;
      if (picked && picked.healthy && picked.capabilities.has(step.capability)) return step;
      const best = bestAgentFor(step.capability, agents, load);
      return best ? { ...rest, agent: best.id } : rest;
    }),
  };
}

/** The load to assume while kCore has not plugged its own in: nothing running anywhere. */
export const NO_LOAD: AgentLoad = { of: () => ({ running: 0, tasks: [] }) };

/**
 * kCore is built with the planner and is what knows the load, so the planner gets the load through this late-bound
 * port: `bind` kCore's AgentLoad once it exists; until then (or without kCore) nothing counts as running.
 */
export function lateBoundAgentLoad(): { port: AgentLoad; bind(load: AgentLoad): void } {
  let bound: AgentLoad = NO_LOAD;
  return {
    port: { of: (agentId) => bound.of(agentId) },
    bind(load) {
      bound = load;
    },
  };
}
