/**
 * An MCP server over streamable HTTP (official MCP SDK), in-process on node:http, stateful (one McpServer per
 * session, so the node's GET stream receives notifications). `addTool` registers a tool on every session's server:
 * the SDK then sends `notifications/tools/list_changed`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { buildToolServer } from "./mcp-tools.js";

export class McpHttpServer {
  private readonly sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  private readonly extraTools: string[] = [];

  private constructor(
    private readonly http: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<McpHttpServer> {
    const http = createServer();
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const self = new McpHttpServer(http, `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`);
    http.on("request", (req: IncomingMessage, res: ServerResponse) => void self.handle(req, res));
    return self;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** A new echo tool on every session's server (and every session to come). */
  addTool(name: string): void {
    this.extraTools.push(name);
    for (const { server } of this.sessions.values()) this.register(server, name);
  }

  private register(server: McpServer, name: string): void {
    server.registerTool(name, { description: `Echoes (${name})`, inputSchema: { text: z.string() } }, ({ text }) => ({ content: [{ type: "text", text }] }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sessionId = req.headers["mcp-session-id"];
    const existing = typeof sessionId === "string" ? this.sessions.get(sessionId) : undefined;
    if (existing) return existing.transport.handleRequest(req, res);
    if (req.method !== "POST") {
      res.writeHead(404).end();
      return;
    }
    const server = buildToolServer("http-tools");
    for (const name of this.extraTools) this.register(server, name);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void this.sessions.set(id, { transport, server }),
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res);
  }

  async close(): Promise<void> {
    for (const { transport } of this.sessions.values()) await transport.close().catch(() => undefined);
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
