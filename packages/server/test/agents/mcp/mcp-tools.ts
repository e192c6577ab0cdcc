/**
 * The MCP tools the streamable-HTTP test server offers, built with the official MCP SDK (McpServer) (the stdio
 * child script offers add, pid and greeting in plain JavaScript): `add` (structured output), `fail` (an isError result), `pid`
 * (the server process, to see it start and end), `greeting` (an environment variable the node set from the vault).
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";

export function buildToolServer(name: string): McpServer {
  const server = new McpServer({ name, version: "1.0.0" }, { capabilities: { tools: { listChanged: true } } });
  server.registerTool(
    "add",
    { title: "Add numbers", description: "Adds a and b", inputSchema: { a: z.number(), b: z.number() }, outputSchema: { sum: z.number() } },
    ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }], structuredContent: { sum: a + b } }),
  );
  server.registerTool("fail", { description: "Always fails", inputSchema: { why: z.string().optional() } }, ({ why }) => ({
    isError: true,
    content: [{ type: "text", text: `cannot do that: ${why ?? "no reason"}` }],
  }));
  server.registerTool("pid", { description: "The server's process id" }, () => ({ content: [{ type: "text", text: String(process.pid) }], structuredContent: { pid: process.pid } }));
  server.registerTool("greeting", { description: "The GREETING variable" }, () => ({ content: [{ type: "text", text: process.env.GREETING ?? "" }] }));
  return server;
}
