/**
 * An MCP server over stdio built with the official MCP SDK, started by the node as a command in the MCP tests.
 * Plain JavaScript so that it starts in a fraction of a second (no TypeScript loader): `add`, `pid` (this
 * process, to see it start again and end) and `greeting` (GREETING, which the node set from a vault secret).
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "stdio-tools", version: "1.0.0" });
server.registerTool("add", { description: "Adds a and b", inputSchema: { a: z.number(), b: z.number() }, outputSchema: { sum: z.number() } }, ({ a, b }) => ({
  content: [{ type: "text", text: String(a + b) }],
  structuredContent: { sum: a + b },
}));
server.registerTool("pid", { description: "The server's process id" }, () => ({ content: [{ type: "text", text: String(process.pid) }], structuredContent: { pid: process.pid } }));
server.registerTool("greeting", { description: "The GREETING variable" }, () => ({ content: [{ type: "text", text: process.env.GREETING ?? "" }] }));
await server.connect(new StdioServerTransport());
