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
  // One pass: each candidate's load read once (the sort compares the shares taken here, not new look-ups).
  let named: AgentAssignee | undefined;
  let best: AgentAssignee | undefined;
  let bestShare = Infinity;
  for (const { record, assignee } of listed) {
    if (record.health === "failing" || excluded.includes(record.id)) continue;
    if (record.type === "agent" && allowedAgents !== undefined && !allowedAgents.includes(record.id)) continue;
    if (!deps.supports(assignee.transport) || (assignee.url === undefined && assignee.transport !== "mcp" && assignee.transport !== "plugin")) continue;
    const running = deps.load.running(assignee.id);
    if (running >= assignee.limit) continue;
    if (step.agent !== undefined && assignee.id === step.agent) named ??= assignee;
    // The least loaded share first; of equal shares, the one listed first (as the stable sort it replaces did).
    const share = running / assignee.limit;
    if (share < bestShare) {
      best = assignee;
      bestShare = share;
    }
  }
  if (named) return named;
  if (best) return best;
  const viaGateway = gatewayAssigneeId(step.capability);
  if (gatewayOperationOf(step.capability) !== undefined && !excluded.includes(viaGateway)) return { kind: "gateway", id: viaGateway, capability: step.capability };
  return null;
}
