/**
 * @module http/routes/plugins
 * `/api/plugins` (scope `plugins:admin`; `admin` implies it): what the node found in its plugin folders
 * (docs/plugins.md). The listing shows each plugin's state, trust level and why, and its problems (file and field);
 * one plugin adds its validated manifest, the node API check and its folder's path, which is why the scope is an
 * administrator's. `POST /api/plugins/rescan` reads the folders again (after adding, signing or fixing a plugin) and
 * restarts running plugins whose folder changed; `POST /api/plugins/{id}/enable` and `/disable` start and stop a plugin
 * node-wide (plugins/runtime/). Each plugin's `runtime` says whether it is enabled and what its process is doing here.
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBodySchema, PluginDetailSchema, PluginListResponseSchema, type PluginDetail, type PluginListResponse } from "@kai/protocol";
import type { PluginCatalog } from "../../plugins/plugin-catalog.js";
import type { PluginRuntime } from "../../plugins/runtime/plugin-runtime.js";
import { principalOf } from "../authenticate.js";

// Loose on purpose: an invalid plugin is listed under its folder's name, which need not be a valid plugin id.
const IdParamsSchema = z.strictObject({ id: z.string().min(1).max(255) });
const errors = { 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const scopes = ["plugins:admin" as const];

export function pluginRoutes(catalog: PluginCatalog, runtime?: PluginRuntime): FastifyPluginAsyncZod {
  const listing = (): PluginListResponse => {
    const list = catalog.list();
    return runtime ? { ...list, plugins: list.plugins.map((plugin) => ({ ...plugin, runtime: runtime.viewOf(plugin.id) })) } : list;
  };
  const detail = (id: string): PluginDetail => {
    const plugin = catalog.get(id);
    return runtime ? { ...plugin, runtime: runtime.viewOf(plugin.id) } : plugin;
  };
  return async (app) => {
    app.get("/api/plugins", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["plugins"],
        summary: "The plugins found in the node's plugin folders: state, trust level and why, problems (plugins:admin)",
        security,
        response: { 200: PluginListResponseSchema, ...errors },
      },
    }, async (_request, reply) => reply.header("Cache-Control", "no-store").send(listing()));

    app.post("/api/plugins/rescan", {
      config: { scopes, bucket: "write" },
      schema: {
        tags: ["plugins"],
        summary: "Read the plugin folders again and answer the new listing (plugins:admin)",
        security,
        response: { 200: PluginListResponseSchema, ...errors },
      },
    }, async (request, reply) => {
      await catalog.scan();
      await runtime?.reload(principalOf(request).owner);
      return reply.header("Cache-Control", "no-store").send(listing());
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
    }, async (request, reply) => reply.header("Cache-Control", "no-store").send(detail(request.params.id)));

    if (!runtime) return;
    for (const action of ["enable", "disable"] as const) {
      app.post(`/api/plugins/:id/${action}`, {
        config: { scopes, bucket: "write" },
        schema: {
          tags: ["plugins"],
          summary: action === "enable"
            ? "Enable a plugin on the node: every instance starts it (answers once it runs or failed to start; runtime.state says which) (plugins:admin)"
            : "Disable a plugin on the node: every instance stops it and its registry record goes (plugins:admin)",
          security,
          params: IdParamsSchema,
          response: { 200: PluginDetailSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, ...errors },
        },
      }, async (request, reply) => {
        const by = principalOf(request).owner;
        if (action === "enable") await runtime.enable(request.params.id, by);
        else await runtime.disable(request.params.id, by);
        return reply.header("Cache-Control", "no-store").send(detail(request.params.id));
      });
    }
  };
}
