/**
 * @module agents/kcore/assignment
 * Who runs a step: the named agent when it is healthy and under its limit, else the least loaded healthy agent or
 * tool (registry discovery, as the task's owner: only records the owner may see) offering the capability,
 * else the node's gateway when the capability maps to a gateway operation. Assignees that already failed the step
 * are passed over (reassignment), and `constraints.agents` limits which agents may be chosen.
 */
import type { AgentTransport, PlanStep } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import type { RegistryService } from "../../registry/registry-service.js";
import type { LoadTracker } from "./agent-load.js";
import { candidatesOf, type AgentAssignee } from "./assignment-candidates.js";
import { gatewayOperationOf } from "./dispatch/gateway-dispatcher.js";

export type Assignee = AgentAssignee | { kind: "gateway"; id: string; capability: string };

export const gatewayAssigneeId = (capability: string) => `gateway:${capability}`;

export interface AssignmentDeps {
  registry: RegistryService;
  load: LoadTracker;
  supports(transport: AgentTransport): boolean;
}

export async function findAssignee(
  deps: AssignmentDeps,
  step: PlanStep,
  principal: Principal,
  excluded: readonly string[],
  allowedAgents: readonly string[] | undefined,
): Promise<Assignee | null> {
  // Discovery shared by the steps assigned together, parsed once per record revision (assignment-candidates.ts).
  const listed = await candidatesOf(deps.registry).find(principal, step.capability);
  const candidates = listed
    .filter(({ record }) => record.health !== "failing" && !excluded.includes(record.id))
    .filter(({ record }) => record.type !== "agent" || allowedAgents === undefined || allowedAgents.includes(record.id))
    .map(({ assignee }) => assignee)
    .filter((assignee) => deps.supports(assignee.transport) && (assignee.url !== undefined || assignee.transport === "mcp" || assignee.transport === "plugin") && deps.load.of(assignee.id).running < assignee.limit);
  const named = step.agent === undefined ? undefined : candidates.find((candidate) => candidate.id === step.agent);
  if (named) return named;
  candidates.sort((a, b) => deps.load.of(a.id).running / a.limit - deps.load.of(b.id).running / b.limit);
  if (candidates[0]) return candidates[0];
  const viaGateway = gatewayAssigneeId(step.capability);
  if (gatewayOperationOf(step.capability) !== undefined && !excluded.includes(viaGateway)) return { kind: "gateway", id: viaGateway, capability: step.capability };
  return null;
}
