/**
 * @module agents/mcp/mcp-registration
 * How an MCP server and its tools become a registry registration of type `tool`: the tools' capabilities are the
 * record's capabilities (discovery by capability finds them like any service), `metadata.agent` says kCore reaches
 * it over MCP with one skill per tool (input and output schemas included), and `metadata.mcp` says how the node
 * connects again (URL, or command with the NAMES of the vault secrets its environment takes: no secret is stored).
 */
import {
  AGENT_METADATA_KEY,
  AgentLimitsSchema,
  MCP_METADATA_KEY,
  McpRecordMetadataSchema,
  ServiceRegistrationSchema,
  fieldErrorsFromZod,
  type AddMcpServerRequest,
  type AgentRecordMetadata,
  type McpRecordMetadata,
  type ServiceRecord,
  type ServiceRegistration,
} from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { ToolCatalog } from "./tool-capabilities.js";

export function registrationOf(request: AddMcpServerRequest, catalog: ToolCatalog, serverInfo: McpRecordMetadata["serverInfo"]): ServiceRegistration {
  const agent: AgentRecordMetadata = { transport: "mcp", source: "mcp", skills: catalog.skills, limits: AgentLimitsSchema.parse({}) };
  const mcp: McpRecordMetadata = {
    kind: request.url !== undefined ? "url" : "command",
    ...(request.url !== undefined ? { url: request.url } : {}),
    ...(request.command !== undefined ? { command: request.command } : {}),
    tools: catalog.tools,
    ...(serverInfo ? { serverInfo } : {}),
  };
  const parsed = ServiceRegistrationSchema.safeParse({
    id: request.id,
    name: request.name ?? serverInfo?.name ?? request.id,
    description: request.description ?? "",
    type: "tool",
    capabilities: Object.keys(catalog.tools),
    tags: request.tags ?? [],
    // A command server has no URL: the node reaches it over the process's stdio.
    ...(request.url !== undefined ? { url: request.url, protocol: request.url.startsWith("https:") ? "https" : "http" } : {}),
    ...(request.visibility !== undefined ? { visibility: request.visibility } : {}),
    metadata: { [AGENT_METADATA_KEY]: agent, [MCP_METADATA_KEY]: mcp },
  });
  if (!parsed.success) {
    throw new ApiError("validation_failed", "the MCP server's tools do not fit in a registry record (too many, or schemas too large)", fieldErrorsFromZod(parsed.error));
  }
  return parsed.data;
}

/** The MCP part of a record, when it is an MCP tool server's. */
export function mcpMetadataOf(record: ServiceRecord): McpRecordMetadata | undefined {
  if (record.type !== "tool") return undefined;
  const parsed = McpRecordMetadataSchema.safeParse(record.metadata[MCP_METADATA_KEY]);
  return parsed.success ? parsed.data : undefined;
}

/** The request that (re-)creates this record's server: what a restart or a refresh connects with. */
export function requestOf(record: ServiceRecord, mcp: McpRecordMetadata): AddMcpServerRequest {
  return {
    id: record.id,
    name: record.name,
    description: record.description.slice(0, 2000),
    ...(mcp.kind === "url" && mcp.url !== undefined ? { url: mcp.url } : {}),
    ...(mcp.kind === "command" && mcp.command !== undefined ? { command: mcp.command } : {}),
    visibility: record.visibility,
    tags: record.tags.slice(0, 32),
  };
}
