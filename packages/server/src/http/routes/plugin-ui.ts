/**
 * @module http/routes/plugin-ui
 * Plugin UIs (issue 18, docs/plugins.md "Plugin UIs"), scope `gateway:invoke`: whoever may call plugins' capabilities
 * may see the pages that call them. `GET /api/plugin-uis` lists the running plugins with a page (the web app's
 * "Plugins" menu); `GET /api/plugins/{id}/ui` answers one page's HTML and the capabilities it may call, and
 * `GET /api/plugins/{id}/ui/page` the same page as a document for the web app's sandboxed frame, with a policy that
 * makes it an opaque origin that can fetch nothing: it reaches the node only through the app's message channel,
 * limited to the plugin's own capabilities.
 *
 * Only an enabled plugin that runs on this instance and whose manifest asks for a menu entry (`ui.menu: true`) with a
 * page (`ui.page`) has one (404 otherwise, 503 `plugin_unavailable` while it is not running). The page is read from
 * the plugin's folder at each request: at most PLUGIN_UI_MAX_BYTES, a regular file reached without a symbolic link
 * anywhere on its path, inside the folder (the manifest's schema already refuses `..` and absolute paths).
 *
 * `GET /api/plugins/{id}/ui/icon` answers the same plugin's icon (`ui.icon`) under the same rules (a running plugin
 * with a page, read from inside its folder without links, at most PLUGIN_ICON_MAX_BYTES), only as an image type the
 * file's extension names, with nosniff and a policy that lets nothing in it run (an SVG opened on its own is sandboxed).
 */
import { constants } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { join, sep } from "node:path";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  ErrorBodySchema,
  PLUGIN_ICON_MAX_BYTES,
  PLUGIN_UI_MAX_BYTES,
  PluginUiListResponseSchema,
  PluginUiResponseSchema,
  type PluginDetail,
  type PluginUiEntry,
} from "@kai/protocol";
import { ApiError } from "../../errors.js";
import type { PluginCatalog } from "../../plugins/plugin-catalog.js";
import type { PluginRuntime } from "../../plugins/runtime/plugin-runtime.js";

const IdParamsSchema = z.strictObject({ id: z.string().min(1).max(255) });
const errors = { 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];
const scopes = ["gateway:invoke" as const];

/**
 * The policy of a page served as a document: scripts only in a sandbox (an opaque origin: no cookies, no storage, no
 * access to the app), nothing fetched (inline scripts and styles, data: images), framed only by the node's own app.
 */
export const PLUGIN_UI_DOCUMENT_POLICY =
  "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/** What an icon opened as a document may do: nothing (no script, nothing fetched; inline styles for SVGs). */
export const PLUGIN_ICON_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** The image types an icon may be, by its file's extension (anything else is not served). */
const ICON_TYPES: Readonly<Record<string, string>> = { svg: "image/svg+xml", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", webp: "image/webp", gif: "image/gif" };
const iconTypeOf = (path: string): string | undefined => ICON_TYPES[path.slice(path.lastIndexOf(".") + 1).toLowerCase()];

/** The icon's path inside the folder when the plugin has a UI and names an icon of an image type served. */
const iconOf = (plugin: PluginDetail): string | undefined => {
  const icon = pageOf(plugin) !== undefined ? plugin.manifest?.ui?.icon : undefined;
  return icon !== undefined && iconTypeOf(icon) !== undefined ? icon : undefined;
};

/** The page's path inside the folder when the plugin has a UI at all. */
const pageOf = (plugin: PluginDetail): string | undefined => (plugin.manifest?.ui?.menu === true ? plugin.manifest.ui.page : undefined);

export function pluginUiRoutes(catalog: Pick<PluginCatalog, "list" | "get">, runtime: Pick<PluginRuntime, "viewOf">): FastifyPluginAsyncZod {
  const entryOf = (plugin: PluginDetail): PluginUiEntry => ({ id: plugin.id, name: plugin.name ?? plugin.id, capabilities: runtime.viewOf(plugin.id).capabilities, ...(iconOf(plugin) !== undefined ? { icon: true } : {}) });
  /** A running plugin's page: 404 without one, 503 while it is not running. */
  const pageFor = async (id: string): Promise<{ plugin: PluginDetail; html: string }> => {
    const plugin = catalog.get(id);
    const page = pageOf(plugin);
    if (page === undefined) throw new ApiError("not_found", `plugin ${plugin.id} has no UI`);
    const view = runtime.viewOf(plugin.id);
    if (view.state !== "running") throw new ApiError("plugin_unavailable", `plugin ${plugin.id} is not running (${view.state})`);
    return { plugin, html: (await readInside(plugin.path, page, PLUGIN_UI_MAX_BYTES, "UI page")).toString("utf8") };
  };
  /** A running plugin's icon: 404 without one (or of a type not served), 503 while it is not running. */
  const iconFor = async (id: string): Promise<{ type: string; bytes: Buffer }> => {
    const plugin = catalog.get(id);
    const icon = iconOf(plugin);
    if (icon === undefined) throw new ApiError("not_found", `plugin ${plugin.id} has no icon (ui.icon: an SVG, PNG, JPEG, WebP or GIF file, with a ui.page)`);
    const view = runtime.viewOf(plugin.id);
    if (view.state !== "running") throw new ApiError("plugin_unavailable", `plugin ${plugin.id} is not running (${view.state})`);
    return { type: iconTypeOf(icon)!, bytes: await readInside(plugin.path, icon, PLUGIN_ICON_MAX_BYTES, "icon") };
  };
  return async (app) => {
    app.get("/api/plugin-uis", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["plugins"],
        summary: "The running plugins with a UI page: the web app's Plugins menu (gateway:invoke)",
        security,
        response: { 200: PluginUiListResponseSchema, ...errors },
      },
    }, async (_request, reply) => {
      const ids = new Set(catalog.list().plugins.filter((summary) => summary.state === "discovered").map((summary) => summary.id));
      const plugins = [...ids]
        .map((id) => catalog.get(id))
        .filter((plugin) => pageOf(plugin) !== undefined && runtime.viewOf(plugin.id).state === "running")
        .map(entryOf);
      return reply.header("Cache-Control", "no-store").send({ plugins });
    });

    app.get("/api/plugins/:id/ui", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["plugins"],
        summary: "A running plugin's UI page (HTML for a sandboxed frame) and the capabilities it may call (gateway:invoke)",
        security,
        params: IdParamsSchema,
        response: { 200: PluginUiResponseSchema, 404: ErrorBodySchema, 413: ErrorBodySchema, 503: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const { plugin, html } = await pageFor(request.params.id);
      return reply.header("Cache-Control", "no-store").send({ ...entryOf(plugin), html });
    });

    // The same page as a document for the web app's <iframe src>: a frame made from srcdoc (or a data: or blob: URL)
    // inherits the app's own policy (script-src 'self'), which would stop every script of the page. This answer brings
    // its own: the CSP `sandbox` directive makes it an opaque origin even when opened on its own, and the page can
    // fetch nothing (the app reaches the node for it, through the message channel). The browser sends the session's
    // cookie with the frame's request (same site), which is how the tab's session authenticates it.
    app.get("/api/plugins/:id/ui/page", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["plugins"],
        summary: "A running plugin's UI page as a sandboxed document (text/html, for the web app's frame) (gateway:invoke)",
        security,
        params: IdParamsSchema,
        response: { 200: z.string().describe("the page (text/html)"), 404: ErrorBodySchema, 413: ErrorBodySchema, 503: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const { html } = await pageFor(request.params.id);
      return reply
        .header("Content-Type", "text/html; charset=utf-8")
        .header("Content-Security-Policy", PLUGIN_UI_DOCUMENT_POLICY)
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer")
        .header("Cache-Control", "no-store")
        .send(html);
    });

    app.get("/api/plugins/:id/ui/icon", {
      config: { scopes, bucket: "read" },
      schema: {
        tags: ["plugins"],
        summary: "A running plugin's icon (ui.icon: SVG, PNG, JPEG, WebP or GIF), for the web app's menu (gateway:invoke)",
        security,
        params: IdParamsSchema,
        response: { 200: z.any().describe("the icon (an image type)"), 404: ErrorBodySchema, 413: ErrorBodySchema, 503: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const { type, bytes } = await iconFor(request.params.id);
      return reply
        .header("Content-Type", type)
        .header("Content-Security-Policy", PLUGIN_ICON_POLICY)
        .header("X-Content-Type-Options", "nosniff")
        .header("Cross-Origin-Resource-Policy", "same-origin")
        .header("Cache-Control", "private, max-age=300")
        .send(bytes);
    });
  };
}

/** A file of the plugin's: inside the folder, no symbolic link on the way, a regular file of at most `maxBytes`. */
async function readInside(folder: string, page: string, maxBytes: number, what: string): Promise<Buffer> {
  const missing = () => new ApiError("not_found", `the plugin's ${what} ${page} cannot be read`);
  const root = await realpath(folder).catch(() => undefined);
  if (root === undefined) throw missing();
  const wanted = join(root, ...page.split("/"));
  // realpath resolves every link on the way: a path that changes under it passed through one (or left the folder).
  const real = await realpath(wanted).catch(() => undefined);
  if (real !== wanted || !real.startsWith(root + sep)) throw missing();
  // O_NOFOLLOW: the file itself swapped for a link between the check and the open is refused, not followed.
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
  if (handle === undefined) throw missing();
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw missing();
    if (stats.size > maxBytes) throw new ApiError("payload_too_large", `the plugin's ${what} is larger than ${maxBytes} bytes`);
    const buffer = Buffer.alloc(maxBytes + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > maxBytes) throw new ApiError("payload_too_large", `the plugin's ${what} is larger than ${maxBytes} bytes`);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
