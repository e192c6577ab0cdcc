/**
 * @module http/routes/plugin-lifecycle
 * Installing, updating, removing and rolling back plugins (issue 18, docs/plugins.md "Install, update, remove, roll
 * back"), scope `plugins:admin`: `POST /api/plugins/install` takes a .tar.gz as the raw body, streamed (never parsed
 * whole; `plugins.maxPackageBytes` applies while it arrives), `DELETE /api/plugins/{id}`, `GET
 * /api/plugins/{id}/history`, `POST /api/plugins/{id}/rollback` and `POST /api/plugins/{id}/update` (a signed update
 * manifest). Answers are the plugin as the catalog sees it after the change.
 */
import { z } from "zod";
import type { FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod, ZodTypeProvider } from "fastify-type-provider-zod";
import {
  ErrorBodySchema,
  PluginDetailSchema,
  PluginHistoryResponseSchema,
  PluginIdSchema,
  PluginInstallQuerySchema,
  PluginRemoveQuerySchema,
  PluginRemoveResponseSchema,
  PluginRollbackRequestSchema,
  PluginUpdateRequestSchema,
} from "@kai/protocol";
import { principalOf } from "../authenticate.js";
import { ApiError } from "../../errors.js";
import type { PluginCatalog } from "../../plugins/plugin-catalog.js";
import type { PluginInstaller } from "../../plugins/install/plugin-installer.js";

const IdParamsSchema = z.strictObject({ id: PluginIdSchema });
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema, 422: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const scopes = ["plugins:admin" as const];
const PACKAGE_TYPES = ["application/gzip", "application/x-gzip", "application/x-tar+gzip", "application/octet-stream"];

/** Stops taking bytes from a refused upload; the answer closes the connection (http/body-guard.ts). */
function stopReading(request: FastifyRequest): void {
  request.raw.unpipe();
  request.raw.pause();
}

export function pluginLifecycleRoutes(installer: PluginInstaller, catalog: PluginCatalog, maxPackageBytes: number): FastifyPluginAsyncZod {
  /** The plugin as the catalog sees it after a change (onChanged rescans; a rescan here too when it was not wired to). */
  const detailOf = async (id: string) => {
    try {
      return catalog.get(id);
    } catch {
      await catalog.scan();
      return catalog.get(id);
    }
  };

  return async (app) => {
    // The upload alone, in a scope of its own: its body is a stream, never parsed whole.
    await app.register(async (plain) => {
      const scope = plain.withTypeProvider<ZodTypeProvider>();
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(PACKAGE_TYPES, (_request, _payload, done) => done(null));
      scope.post("/api/plugins/install", {
        config: { scopes, bucket: "write", streamedBody: true },
        schema: {
          tags: ["plugins"],
          summary: "Install a plugin from a package: a .tar.gz of the plugin folder as the raw body (plugins:admin)",
          description:
            "The body is a gzip-compressed tar (`application/gzip`) holding the plugin's files at its root or in one top-level folder; " +
            "`kai plugin install FOLDER` packs one. Unpacked as it arrives into a staging folder with limits (size, files, depth; no links, " +
            "devices, absolute paths or `..`), then checked as discovery checks a folder: an invalid or incompatible plugin is 400 " +
            "`validation_failed` naming the file and field, and nothing is left behind. 409 `conflict` when the plugin is installed " +
            "(unless `replace=true`: the installed version moves to the history). 413 past `plugins.maxPackageBytes`. 422 " +
            "`plugin_start_failed` when the new version fails its start or health check (the previous one is put back).",
          security,
          consumes: PACKAGE_TYPES,
          querystring: PluginInstallQuerySchema,
          response: { 201: PluginDetailSchema, 413: ErrorBodySchema, ...errors },
        },
      }, async (request, reply) => {
        const announced = Number(request.headers["content-length"]);
        if (announced > maxPackageBytes) {
          stopReading(request);
          throw new ApiError("payload_too_large", `the package is larger than this node accepts (plugins.maxPackageBytes, ${maxPackageBytes} bytes)`);
        }
        let installed;
        try {
          installed = await installer.install(request.raw, { replace: request.query.replace === "true", by: principalOf(request).owner });
        } catch (error) {
          stopReading(request);
          throw error;
        }
        return reply.status(201).header("Cache-Control", "no-store").header("Location", `/api/plugins/${installed.id}`).send(await detailOf(installed.id));
      });
    });

    app.delete("/api/plugins/:id", {
      config: { scopes, bucket: "write" },
      schema: {
        tags: ["plugins"],
        summary: "Remove a plugin installed in the node's plugins folder: into the history (roll back to restore it), or deleted with purge=true (plugins:admin)",
        security,
        params: IdParamsSchema,
        querystring: PluginRemoveQuerySchema,
        response: { 200: PluginRemoveResponseSchema, ...errors },
      },
    }, async (request, reply) => reply.header("Cache-Control", "no-store").send(await installer.remove(request.params.id, { purge: request.query.purge === "true", by: principalOf(request).owner })));

    app.get("/api/plugins/:id/history", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["plugins"],
        summary: "A plugin's installed version and the versions kept after a replace, update, rollback or remove, newest first (plugins:admin)",
        security,
        params: IdParamsSchema,
        response: { 200: PluginHistoryResponseSchema, ...errors },
      },
    }, async (request, reply) => reply.header("Cache-Control", "no-store").send(await installer.versions(request.params.id)));

    app.post("/api/plugins/:id/rollback", {
      config: { scopes, bucket: "write" },
      schema: {
        tags: ["plugins"],
        summary: "Put the newest kept version (or the newest kept one of `version`) back in place; the current one goes to the history (plugins:admin)",
        security,
        params: IdParamsSchema,
        body: PluginRollbackRequestSchema,
        response: { 200: PluginDetailSchema, ...errors },
      },
    }, async (request, reply) => {
      const placed = await installer.rollback(request.params.id, { by: principalOf(request).owner, ...(request.body.version !== undefined ? { version: request.body.version } : {}) });
      return reply.header("Cache-Control", "no-store").send(await detailOf(placed.id));
    });

    app.post("/api/plugins/:id/update", {
      config: { scopes, bucket: "write" },
      schema: {
        tags: ["plugins"],
        summary: "Update a plugin from a signed update manifest: signature by a trusted key, download, checksum, install (plugins:admin)",
        description:
          "`manifest` is `{plugin, latest, url, checksum, did, signature}`, signed (Ed25519 over the JCS of the document without `signature`) " +
          "by a key in plugins.trustedKeys (or a trusted peer's, with plugins.trustPeers). 400 `validation_failed` for a malformed manifest, a " +
          "signature that does not verify or a checksum mismatch; 403 `plugin_untrusted` for a signer the node does not trust; 409 `conflict` " +
          "when `latest` is not newer than the installed version (unless `force`); 502/504 when the package cannot be fetched; 422 " +
          "`plugin_start_failed` when the new version fails its start or health check (the previous one is put back).",
        security,
        params: IdParamsSchema,
        body: PluginUpdateRequestSchema,
        response: { 200: PluginDetailSchema, 413: ErrorBodySchema, 502: ErrorBodySchema, 504: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const placed = await installer.update(request.body.manifest, { id: request.params.id, by: principalOf(request).owner, ...(request.body.force !== undefined ? { force: request.body.force } : {}) });
      return reply.header("Cache-Control", "no-store").send(await detailOf(placed.id));
    });
  };
}
