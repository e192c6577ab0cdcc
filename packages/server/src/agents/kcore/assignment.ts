/**
 * @module agents/kcore/assignment
 * Who runs a step: the named agent when it is healthy and under its limit, else the least loaded healthy agent or
 * tool (registry discovery, as the task's owner: only records the owner may see) offering the capability,
 * else the node's gateway when the capability maps to a gateway operation. Assignees that already failed the step
 * are passed over (reassignment), and `constraints.agents` limits which agents may be chosen.
 */
import { AGENT_METADATA_KEY, AgentRecordMetadataSchema, ListServicesQuerySchema, type AgentTransport, type PlanStep, type ServiceRecord } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import type { RegistryService } from "../../registry/registry-service.js";
import type { LoadTracker } from "./agent-load.js";
import { gatewayOperationOf } from "./dispatch/gateway-dispatcher.js";

export type Assignee =
  | { kind: "agent"; id: string; transport: AgentTransport; url?: string; limit: number; stepTimeoutMs?: number }
  | { kind: "gateway"; id: string; capability: string };

export const gatewayAssigneeId = (capability: string) => `gateway:${capability}`;

/** Steps an agent or tool without declared limits gets at once. */
const DEFAULT_LIMIT = 4;
/** Candidates read per discovery. */
const DISCOVERY_PAGE = 200;

export interface AssignmentDeps {
  registry: RegistryService;
  load: LoadTracker;
  supports(transport: AgentTransport): boolean;
}

function asAssignee(record: ServiceRecord): Extract<Assignee, { kind: "agent" }> {
  const metadata = AgentRecordMetadataSchema.safeParse(record.metadata?.[AGENT_METADATA_KEY]);
  if (metadata.success) {
    return {
      kind: "agent",
      id: record.id,
      transport: metadata.data.transport,
      ...(record.url ? { url: record.url } : {}),
      limit: metadata.data.limits.maxConcurrentTasks,
      stepTimeoutMs: metadata.data.limits.stepTimeoutMs,
    };
  }
  // A tool (or agent) registered without the agent part: reached over plain HTTP at its URL.
  return { kind: "agent", id: record.id, transport: "http", ...(record.url ? { url: record.url } : {}), limit: DEFAULT_LIMIT };
}

export async function findAssignee(
  deps: AssignmentDeps,
  step: PlanStep,
  principal: Principal,
  excluded: readonly string[],
  allowedAgents: readonly string[] | undefined,
): Promise<Assignee | null> {
  const query = ListServicesQuerySchema.parse({ type: ["agent", "tool"], status: ["active"], capability: [step.capability], limit: DISCOVERY_PAGE });
  const { services } = await deps.registry.list(principal, query);
  const candidates = services
    .filter((record) => record.health !== "failing" && !excluded.includes(record.id))
    .filter((record) => record.type !== "agent" || allowedAgents === undefined || allowedAgents.includes(record.id))
    .map(asAssignee)
    .filter((assignee) => deps.supports(assignee.transport) && (assignee.url !== undefined || assignee.transport === "mcp") && deps.load.of(assignee.id).running < assignee.limit);
  const named = step.agent === undefined ? undefined : candidates.find((candidate) => candidate.id === step.agent);
  if (named) return named;
  candidates.sort((a, b) => deps.load.of(a.id).running / a.limit - deps.load.of(b.id).running / b.limit);
  if (candidates[0]) return candidates[0];
  const viaGateway = gatewayAssigneeId(step.capability);
  if (gatewayOperationOf(step.capability) !== undefined && !excluded.includes(viaGateway)) return { kind: "gateway", id: viaGateway, capability: step.capability };
  return null;
}
