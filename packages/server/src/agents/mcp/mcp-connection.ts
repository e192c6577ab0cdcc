/**
 * @module agents/mcp/mcp-connection
 * One live connection to an MCP server through the official MCP SDK client: streamable HTTP for a URL, stdio for a
 * command (the node starts the process; it ends when the connection closes). It lists every page of the server's
 * tools, calls a tool with the step's AbortSignal (the SDK sends `notifications/cancelled` and stops waiting), and
 * tells its owner when the server says its tool list changed or when the connection is gone.
 */
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";

/**
 * The MCP SDK (~500 ms of module loading with its schemas) loads with the first MCP server the node connects to,
 * not with the node: every start (and test) would otherwise pay for it.
 */
const loadSdk = async () => {
  const [{ Client }, { StreamableHTTPClientTransport }, { getDefaultEnvironment, StdioClientTransport }, { ToolListChangedNotificationSchema }] = await Promise.all([
    import("@modelcontextprotocol/sdk/client/index.js"),
    import("@modelcontextprotocol/sdk/client/streamableHttp.js"),
    import("@modelcontextprotocol/sdk/client/stdio.js"),
    import("@modelcontextprotocol/sdk/types.js"),
  ]);
  return { Client, StreamableHTTPClientTransport, getDefaultEnvironment, StdioClientTransport, ToolListChangedNotificationSchema };
};
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { VERSION } from "../../version.js";

export type McpTarget =
  | { kind: "url"; url: string }
  | { kind: "command"; command: string; args: string[]; /** Resolved values (from the vault), never stored. */ env: Record<string, string> };

export interface McpConnectionEvents {
  onToolsChanged(): void;
  onClosed(): void;
}

/** How long connecting and listing may take before the server counts as unreachable. */
const CONNECT_TIMEOUT_MS = 15_000;
/** Pages of tools read at most (a server paging forever is cut off). */
const MAX_PAGES = 50;
/** A tool call has no timeout of its own: the step's deadline aborts it through the signal. */
const NO_TIMEOUT = 2_147_483_647;

export class McpConnection {
  private closing = false;

  private constructor(
    private readonly client: Client,
    readonly target: McpTarget,
  ) {}

  static async open(target: McpTarget, events: McpConnectionEvents): Promise<McpConnection> {
    const { Client, StreamableHTTPClientTransport, getDefaultEnvironment, StdioClientTransport, ToolListChangedNotificationSchema } = await loadSdk();
    const client = new Client({ name: "kai-node", version: VERSION }, { capabilities: {} });
    const transport: Transport =
      target.kind === "url"
        ? new StreamableHTTPClientTransport(new URL(target.url))
        : new StdioClientTransport({ command: target.command, args: target.args, env: { ...getDefaultEnvironment(), ...target.env }, stderr: "ignore" });
    const connection = new McpConnection(client, target);
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => events.onToolsChanged());
    client.onclose = () => {
      if (!connection.closing) events.onClosed();
    };
    try {
      await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
    } catch (error) {
      connection.closing = true;
      await client.close().catch(() => undefined);
      throw error;
    }
    return connection;
  }

  get serverInfo(): { name: string; version: string } | undefined {
    const info = this.client.getServerVersion();
    return info ? { name: info.name.slice(0, 200), version: info.version.slice(0, 64) } : undefined;
  }

  /** Every tool, across pages. */
  async listTools(): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await this.client.listTools(cursor !== undefined ? { cursor } : undefined, { timeout: CONNECT_TIMEOUT_MS });
      tools.push(...result.tools);
      cursor = result.nextCursor;
      if (cursor === undefined) break;
    }
    return tools;
  }

  callTool(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<CallToolResult> {
    return this.client.callTool({ name, arguments: args }, undefined, { signal, timeout: NO_TIMEOUT }) as Promise<CallToolResult>;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.client.close().catch(() => undefined);
  }
}
