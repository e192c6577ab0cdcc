/**
 * @module agents/mcp/tool-capabilities
 * An MCP server's tools as registry capabilities and agent skills. A tool `Get Forecast` of server `weather` becomes
 * the capability `mcp.weather.get_forecast`: lower-cased, anything outside the capability alphabet turned into `_`,
 * cut to the capability's 64 characters. Two tools that end up as the same capability are refused, naming both,
 * rather than one silently shadowing the other.
 */
import { CapabilitySchema, type AgentSkill } from "@kai/protocol";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { ApiError } from "../../errors.js";

const MAX_CAPABILITY = 64;
const MAX_DESCRIPTION = 2000;

export function capabilityOf(serverId: string, toolName: string): string {
  const prefix = `mcp.${serverId}.`;
  const tail = toolName.toLowerCase().replace(/[^a-z0-9_.:-]/g, "_").slice(0, Math.max(1, MAX_CAPABILITY - prefix.length));
  return `${prefix}${tail}`;
}

/** A skill id for the tool (the skill-id alphabet), unique within the server because its capability is. */
function skillIdOf(capability: string, serverId: string): string {
  const id = capability.slice(`mcp.${serverId}.`.length).replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[^A-Za-z0-9]/, "t");
  return id.slice(0, 64);
}

export interface ToolCatalog {
  skills: AgentSkill[];
  /** capability → the tool's own name, for `tools/call`. */
  tools: Record<string, string>;
}

export function catalogOf(serverId: string, listed: readonly Tool[]): ToolCatalog {
  const tools: Record<string, string> = {};
  const skills: AgentSkill[] = [];
  const seenSkillIds = new Set<string>();
  for (const tool of listed) {
    const capability = capabilityOf(serverId, tool.name);
    if (!CapabilitySchema.safeParse(capability).success) {
      throw new ApiError("validation_failed", `the MCP tool "${tool.name.slice(0, 100)}" has no usable capability name (${capability})`);
    }
    const clash = tools[capability];
    if (clash !== undefined) {
      throw new ApiError("conflict", `the MCP tools "${clash.slice(0, 100)}" and "${tool.name.slice(0, 100)}" both become the capability ${capability}; rename one on the server`);
    }
    tools[capability] = tool.name;
    let id = skillIdOf(capability, serverId);
    while (seenSkillIds.has(id)) id = `${id.slice(0, 60)}_${seenSkillIds.size}`;
    seenSkillIds.add(id);
    skills.push({
      id,
      name: (tool.title ?? tool.annotations?.title ?? tool.name).slice(0, 200) || tool.name.slice(0, 200),
      description: (tool.description ?? "").slice(0, MAX_DESCRIPTION),
      capability,
      inputSchema: tool.inputSchema as Record<string, unknown>,
      ...(tool.outputSchema ? { outputSchema: tool.outputSchema as Record<string, unknown> } : {}),
      tags: [],
    });
  }
  return { skills, tools };
}
