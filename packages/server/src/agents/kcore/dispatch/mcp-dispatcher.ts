/**
 * @module agents/kcore/dispatch/mcp-dispatcher
 * The MCP transport: a step on an MCP tool server is a `tools/call` of the tool behind the step's capability, with
 * the step's input as the arguments, over the node's live connection to that server (agents/mcp/). A result with
 * `isError` is the step's failure (`agent_error`, with the tool's text, shortened); otherwise the output is the
 * tool's `structuredContent`, or its content when it has none. The step's AbortSignal cancels the request (the SDK
 * sends `notifications/cancelled` to the server).
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { McpServers } from "../../mcp/mcp-servers.js";
import { mcpMetadataOf } from "../../mcp/mcp-registration.js";
import type { RegistryService } from "../../../registry/registry-service.js";
import type { Principal } from "../../../auth/principal.js";
import type { Assignee } from "../assignment.js";
import { DispatchError, type DispatchOutcome, type StepDispatch, type StepDispatcher } from "./step-dispatcher.js";

const MAX_MESSAGE = 500;

export interface McpDispatcherDeps {
  servers: Pick<McpServers, "connection">;
  registry: Pick<RegistryService, "get">;
}

const NODE: Principal = { tokenId: "node:mcp", owner: "node", scopes: ["admin"], expiresAt: Number.MAX_SAFE_INTEGER };

/** The text parts of a tool's answer, joined and shortened. */
function textOf(result: CallToolResult): string {
  const text = result.content
    .filter((part): part is Extract<CallToolResult["content"][number], { type: "text" }> => part.type === "text")
    .map((part) => part.text)
    .join("\n")
    .trim();
  return text.slice(0, MAX_MESSAGE);
}

export function createMcpDispatcher(deps: McpDispatcherDeps): StepDispatcher {
  return {
    async dispatch(assignee: Assignee, request: StepDispatch): Promise<DispatchOutcome> {
      if (assignee.kind !== "agent") throw new DispatchError("agent_unreachable", `${assignee.id} is not an MCP server`);
      let tool: string | undefined;
      try {
        tool = mcpMetadataOf(await deps.registry.get(NODE, assignee.id))?.tools[request.capability];
      } catch {
        throw new DispatchError("agent_unreachable", `${assignee.id} is no longer registered`);
      }
      if (tool === undefined) throw new DispatchError("agent_error", `${assignee.id} has no tool for ${request.capability}`);
      let result: CallToolResult;
      try {
        const connection = await deps.servers.connection(assignee.id);
        result = await connection.callTool(tool, request.input, request.signal);
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason ?? error;
        const message = error instanceof Error ? error.message.split("\n")[0]!.slice(0, MAX_MESSAGE) : "no answer";
        // The server answered with a JSON-RPC error (unknown tool, invalid arguments): the call failed, the server is fine.
        // The MCP SDK is loaded lazily (mcp-connection.ts); a connection exists, so it is loaded by now.
        const { McpError } = await import("@modelcontextprotocol/sdk/types.js");
        if (error instanceof McpError) throw new DispatchError("agent_error", `the MCP server ${assignee.id} refused the call of ${tool}: ${message}`);
        throw new DispatchError("agent_unreachable", `the MCP server ${assignee.id} did not answer the call of ${tool}: ${message}`);
      }
      if (result.isError) {
        const text = textOf(result);
        throw new DispatchError("agent_error", `the MCP tool ${tool} of ${assignee.id} failed${text ? `: ${text}` : ""}`);
      }
      return { kind: "output", output: result.structuredContent ?? result.content, assignee: assignee.id };
    },
  };
}
