/**
 * @module http/routes/agents-mcp
 * MCP tool servers (issue 16): `POST /api/agents/mcp` adds one by URL (streamable HTTP) or by command (stdio, admins
 * only: it runs a process on the node); the node connects with the official MCP SDK client, lists the tools and
 * registers a record of type `tool` (capabilities `mcp.<id>.<tool>`) owned by the caller, kept fresh afterwards.
 * `DELETE /api/agents/mcp/{id}` removes the record and closes the connection (a command server's process ends).
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { AddMcpServerRequestSchema, ErrorBodySchema, McpServerIdSchema, ServiceRecordSchema } from "@kai/protocol";
import type { McpServers } from "../../agents/mcp/mcp-servers.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema, 503: ErrorBodySchema };
const security = [{ bearer: [] }];

export function agentsMcpRoutes(mcp: McpServers): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/agents/mcp", {
      config: { scopes: ["agents:write"], bucket: "write" },
      schema: {
        tags: ["agents"],
        summary: "Add an MCP tool server by URL (streamable HTTP) or by command (stdio, admin only); its tools become capabilities",
        description:
          "Exactly one of `url` and `command`. The node connects with the official MCP SDK client, lists every tool and registers " +
          "a record of type `tool` with the id given: one capability per tool, `mcp.<id>.<tool name lower-cased>` (characters outside " +
          "the capability alphabet become `_`). `command.env` maps variable names to the NAMES of vault secrets read at each start; no " +
          "value is stored. 201 new, 200 added again; 403 `forbidden` for a command without admin; 409 `conflict` when two tools " +
          "become one capability or the id is taken; 502 `mcp_server_unreachable` when the server cannot be connected or listed.",
        security,
        body: AddMcpServerRequestSchema,
        response: { 200: ServiceRecordSchema, 201: ServiceRecordSchema, ...errors },
      },
    }, async (request, reply) => {
      const { record, created } = await mcp.add(principalOf(request), request.body);
      return reply.status(created ? 201 : 200).send(record);
    });

    app.delete("/api/agents/mcp/:id", {
      config: { scopes: ["agents:write"], bucket: "write" },
      schema: {
        tags: ["agents"],
        summary: "Remove an MCP tool server (owner or admin): its record goes and its connection closes",
        security,
        params: z.strictObject({ id: McpServerIdSchema }),
        response: { 204: z.null().describe("Removed"), ...errors },
      },
    }, async (request, reply) => {
      await mcp.remove(principalOf(request), request.params.id);
      return reply.status(204).send(null);
    });
  };
}
