/**
 * @module agents/planner/capability-catalog
 * What the caller could have done right now, read from the registry as the caller (so visibility and ownership rules
 * decide, never the planner): agents' skills (records of type `agent`), tools' capabilities (type `tool`) and the
 * gateway capabilities of other services that kCore can call through the gateway (only those its gateway dispatcher
 * serves). kPlanner shows this catalogue to the model and refuses a plan asking for anything outside it.
 */
import { AGENT_METADATA_KEY, AgentRecordMetadataSchema, ListServicesQuerySchema, type ServiceRecord, type TrustLevel } from "@kai/protocol";
import type { Principal } from "../../auth/principal.js";
import type { RegistryService } from "../../registry/registry-service.js";
import { gatewayOperationOf } from "../kcore/dispatch/gateway-dispatcher.js";

/** An agent that may be given steps, as the planner weighs it. */
export interface AgentOffer {
  id: string;
  name: string;
  /** Active, and its health check (if any) not failing. */
  healthy: boolean;
  trustLevel: TrustLevel;
  maxConcurrentTasks: number;
  capabilities: ReadonlySet<string>;
  /** The skills, for the prompt: capability, name, description. */
  skills: ReadonlyArray<{ capability: string; name: string; description: string }>;
}

export interface CapabilityCatalog {
  /** Every capability something the caller may use offers, and who offers it (`agent kX:y`, `tool t`, `service s`). */
  readonly capabilities: ReadonlyMap<string, string[]>;
  readonly agents: readonly AgentOffer[];
}

/** At most this many records are read (pages of 500): a prompt has to stay a prompt. */
const MAX_RECORDS = 2000;
const PAGE = 500;

function isHealthy(record: ServiceRecord): boolean {
  return record.status === "active" && record.health !== "failing";
}

function agentOf(record: ServiceRecord): AgentOffer | undefined {
  const parsed = AgentRecordMetadataSchema.safeParse(record.metadata[AGENT_METADATA_KEY]);
  // A record of type agent without the agent part (registered as a plain service) offers what its record says.
  const skills = parsed.success
    ? parsed.data.skills.map((skill) => ({ capability: skill.capability, name: skill.name, description: skill.description }))
    : record.capabilities.map((capability) => ({ capability, name: capability, description: "" }));
  return {
    id: record.id,
    name: record.name,
    healthy: isHealthy(record),
    trustLevel: record.trustLevel,
    maxConcurrentTasks: parsed.success ? parsed.data.limits.maxConcurrentTasks : 4,
    capabilities: new Set([...record.capabilities, ...skills.map((skill) => skill.capability)]),
    skills,
  };
}

/** Reads the catalogue as `principal` sees it (records offline or in maintenance are left out). */
export async function readCapabilityCatalog(registry: Pick<RegistryService, "list">, principal: Principal): Promise<CapabilityCatalog> {
  const capabilities = new Map<string, string[]>();
  const offer = (capability: string, by: string) => {
    const list = capabilities.get(capability) ?? [];
    if (!list.includes(by)) list.push(by);
    capabilities.set(capability, list);
  };
  const agents: AgentOffer[] = [];
  let cursor: string | undefined;
  let read = 0;
  do {
    const query = ListServicesQuerySchema.parse({ status: ["active", "degraded"], limit: PAGE, ...(cursor !== undefined ? { cursor } : {}) });
    const page = await registry.list(principal, query);
    for (const record of page.services) {
      if (record.type === "agent") {
        const agent = agentOf(record);
        if (!agent) continue;
        agents.push(agent);
        for (const capability of agent.capabilities) offer(capability, `agent ${record.id}`);
      } else if (record.type === "tool") {
        for (const capability of record.capabilities) offer(capability, `tool ${record.id}`);
      } else {
        // kCore runs a step on another service as a gateway call: only the capabilities its gateway dispatcher can serve.
        for (const capability of record.capabilities) if (gatewayOperationOf(capability) !== undefined) offer(capability, `service ${record.id}`);
      }
    }
    read += page.services.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && read < MAX_RECORDS);
  return { capabilities, agents };
}
