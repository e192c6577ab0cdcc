/**
 * @module agents/directory/agent-status
 * One agent record as `GET /api/agent/status` shows it: the registry's view (status, heartbeat, capabilities) joined
 * with kCore's (steps running, tasks). Until kCore plugs its AgentLoad into the mesh, `ZERO_LOAD` says "nothing
 * running", which is true while nothing can run steps.
 */
import type { AgentStatus, ServiceRecord } from "@kai/protocol";
import type { AgentLoad } from "../ports.js";
import { agentMetadataOf } from "./manifest-registration.js";

export const ZERO_LOAD: AgentLoad = { of: () => ({ running: 0, tasks: [] }) };

/** The status line of an agent record; undefined for a record of type agent without usable agent metadata. */
export function agentStatusOf(record: ServiceRecord, load: AgentLoad): AgentStatus | undefined {
  const agent = agentMetadataOf(record);
  if (!agent) return undefined;
  const { running, tasks } = load.of(record.id);
  return {
    id: record.id,
    name: record.name,
    ...(agent.did !== undefined ? { did: agent.did } : {}),
    transport: agent.transport,
    source: agent.source,
    status: record.status,
    capabilities: record.capabilities,
    load: { running, limit: agent.limits.maxConcurrentTasks },
    currentTasks: tasks,
    heartbeat: record.heartbeat,
  };
}
