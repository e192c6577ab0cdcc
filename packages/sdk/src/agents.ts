/**
 * @module agents
 * `client.agents`: the node's agent directory (issue 16). An agent registers with a manifest signed by its own
 * Ed25519 key (`signAgentManifest` from @kai/protocol signs it; the key never leaves the caller), and becomes a
 * registry record of type `agent`; `status()` is `GET /api/agent/status`, every visible agent with its load.
 * Scopes: `agents:write` to register and remove, `agents:read` to read. Heartbeats go through
 * `client.services.heartbeat(id)` (scope `services:heartbeat`): an agent's lease is its record's.
 * Errors: `agent_signature_invalid`, `agent_manifest_stale` (sign again: a manifest is accepted for 5 minutes),
 * `agent_identity_mismatch` (the id is bound to another key), `conflict`, `not_found`.
 */
import {
  AgentRunListResponseSchema,
  AgentRunStateSchema,
  AgentStatusResponseSchema,
  ListAgentsResponseSchema,
  ServiceRecordSchema,
  type AddA2aAgentRequest,
  type AddMcpServerRequestInput,
  type AgentRunState,
  type RunAgentSpecInput,
  type AgentStatusResponse,
  type ListAgentsQueryInput,
  type ListAgentsResponse,
  type ServiceRecord,
  type SignedAgentManifestInput,
} from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";

export interface AgentsClient {
  /** Registers (201, `created`) or re-registers (200) the agent a signed manifest describes. */
  register(manifest: SignedAgentManifestInput): Promise<{ agent: ServiceRecord; created: boolean }>;
  /** One page of the agents the caller may see; follow `nextCursor`. */
  list(query?: ListAgentsQueryInput): Promise<ListAgentsResponse>;
  get(id: string): Promise<ServiceRecord>;
  /** Removes the agent (owner or admin); its id may then be registered by another key. */
  remove(id: string): Promise<void>;
  /** Every agent the caller may see: status, capabilities, load, current tasks. */
  status(): Promise<AgentStatusResponse>;
  /**
   * Adds an external A2A agent by URL (its base URL or its card's `.json` URL): the node reads the card, registers the
   * agent (201 `created`, 200 added again) and keeps it fresh. `agent_card_unreadable` (502) when the card is unusable.
   */
  addA2a(url: string, options?: Omit<AddA2aAgentRequest, "url">): Promise<{ agent: ServiceRecord; created: boolean }>;
  /**
   * Adds an MCP tool server by `url` (streamable HTTP) or `command` (stdio; admin only, `env` names vault secrets): the
   * node lists its tools and registers a record of type `tool` (capabilities `mcp.<id>.<tool>`), kept fresh.
   * `mcp_server_unreachable` (502) when it cannot be connected; `conflict` when two tools become one capability.
   */
  addMcp(request: AddMcpServerRequestInput): Promise<{ tool: ServiceRecord; created: boolean }>;
  /** Removes an MCP tool server (owner or admin): its record goes and the node closes the connection. */
  removeMcp(id: string): Promise<void>;
  /**
   * Starts an agent the node runs itself (`agents.run`; admin, or the user its spec names as owner): answers with its
   * run state once the process is spawned. `not_found` when the node runs no such agent the caller may see.
   */
  start(id: string): Promise<AgentRunState>;
  /** Stops an agent the node runs (SIGTERM, then SIGKILL after its grace); it stays stopped until started again. */
  stop(id: string): Promise<AgentRunState>;
  /** The agents the node runs itself, with their run state (state, pid, restarts, last exit). */
  runs(): Promise<AgentRunState[]>;
  /** One run-agent's state. */
  run(id: string): Promise<AgentRunState>;
  /** Adds an agent the node runs (admin only; kept until the node stops): `env` names vault secrets. */
  addRun(spec: RunAgentSpecInput): Promise<AgentRunState>;
}

const agentPath = (id: string) => `/api/agents/${encodeURIComponent(id)}`;

export function createAgentsClient(http: HttpTransport): AgentsClient {
  return {
    async register(manifest) {
      const response = await http.request("POST", "/api/agents", { body: manifest, schema: ServiceRecordSchema });
      return { agent: response.data, created: response.status === 201 };
    },
    list: async (query = {}) => (await http.request("GET", "/api/agents", { query: { ...query }, schema: ListAgentsResponseSchema })).data,
    get: async (id) => (await http.request("GET", agentPath(id), { schema: ServiceRecordSchema })).data,
    async remove(id) {
      await http.request("DELETE", agentPath(id));
    },
    status: async () => (await http.request("GET", "/api/agent/status", { schema: AgentStatusResponseSchema })).data,
    async addA2a(url, options = {}) {
      const response = await http.request("POST", "/api/agents/a2a", { body: { ...options, url }, schema: ServiceRecordSchema });
      return { agent: response.data, created: response.status === 201 };
    },
    async addMcp(request) {
      const response = await http.request("POST", "/api/agents/mcp", { body: request, schema: ServiceRecordSchema });
      return { tool: response.data, created: response.status === 201 };
    },
    async removeMcp(id) {
      await http.request("DELETE", `/api/agents/mcp/${encodeURIComponent(id)}`);
    },
    start: async (id) => (await http.request("POST", `${agentPath(id)}/start`, { schema: AgentRunStateSchema })).data,
    stop: async (id) => (await http.request("POST", `${agentPath(id)}/stop`, { schema: AgentRunStateSchema })).data,
    runs: async () => (await http.request("GET", "/api/agents/run", { schema: AgentRunListResponseSchema })).data.agents,
    run: async (id) => (await http.request("GET", `${agentPath(id)}/run`, { schema: AgentRunStateSchema })).data,
    addRun: async (spec) => (await http.request("POST", "/api/agents/run", { body: spec, schema: AgentRunStateSchema })).data,
  };
}
