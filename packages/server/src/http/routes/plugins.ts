/**
 * @module http/routes/plugins
 * `/api/plugins` (scope `plugins:admin`; `admin` implies it): what the node found in its plugin folders
 * (docs/plugins.md). The listing shows each plugin's state, trust level and why, and its problems (file and field);
 * one plugin adds its validated manifest, the node API check and its folder's path, which is why the scope is an
 * administrator's. `POST /api/plugins/rescan` reads the folders again (after adding, signing or fixing a plugin).
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBodySchema, PluginDetailSchema, PluginListResponseSchema } from "@kai/protocol";
import type { PluginCatalog } from "../../plugins/plugin-catalog.js";

// Loose on purpose: an invalid plugin is listed under its folder's name, which need not be a valid plugin id.
const IdParamsSchema = z.strictObject({ id: z.string().min(1).max(255) });
const errors = { 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const scopes = ["plugins:admin" as const];

export function pluginRoutes(catalog: PluginCatalog): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/plugins", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["plugins"],
        summary: "The plugins found in the node's plugin folders: state, trust level and why, problems (plugins:admin)",
        security,
        response: { 200: PluginListResponseSchema, ...errors },
      },
    }, async (_request, reply) => reply.header("Cache-Control", "no-store").send(catalog.list()));

    app.post("/api/plugins/rescan", {
      config: { scopes, bucket: "write" },
      schema: {
        tags: ["plugins"],
        summary: "Read the plugin folders again and answer the new listing (plugins:admin)",
        security,
        response: { 200: PluginListResponseSchema, ...errors },
      },
    }, async (_request, reply) => {
      await catalog.scan();
      return reply.header("Cache-Control", "no-store").send(catalog.list());
    });

    app.get("/api/plugins/:id", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["plugins"],
        summary: "One plugin: its manifest, trust level and why, node API compatibility, problems, folder (plugins:admin)",
        security,
        params: IdParamsSchema,
        response: { 200: PluginDetailSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => reply.header("Cache-Control", "no-store").send(catalog.get(request.params.id)));
  };
}
