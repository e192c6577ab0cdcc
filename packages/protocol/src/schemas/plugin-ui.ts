/**
 * @module plugin-ui
 * Plugin UIs (issue 18, docs/plugins.md "Plugin UIs"): a running plugin whose manifest has `ui.menu: true` and a
 * `ui.page` gets a menu entry in the web app, which shows the page in a sandboxed frame that reaches the node only
 * through a narrow message channel (the plugin's own capabilities, with the user's session). These are what
 * `GET /api/plugin-uis` (the menu) and `GET /api/plugins/{id}/ui` (one page) answer, and the channel's messages.
 */
import { z } from "zod";
import { CapabilitySchema } from "./service.js";

/** The largest UI page the node serves (the page is one self-contained HTML file). */
export const PLUGIN_UI_MAX_BYTES = 512 * 1024;

/** The largest plugin icon the node serves (`ui.icon`). */
export const PLUGIN_ICON_MAX_BYTES = 256 * 1024;

/** One plugin UI in the menu: a running plugin with a page. */
export const PluginUiEntrySchema = z.object({
  id: z.string(),
  name: z.string(),
  /** The capabilities its process offers: all the page may call through the channel. */
  capabilities: z.array(z.string()),
  /** True: its manifest names an icon (`ui.icon`: SVG, PNG, JPEG, WebP or GIF), served at `GET /api/plugins/{id}/ui/icon`. */
  icon: z.boolean().optional(),
});
export type PluginUiEntry = z.infer<typeof PluginUiEntrySchema>;

export const PluginUiListResponseSchema = z.object({ plugins: z.array(PluginUiEntrySchema) });
export type PluginUiListResponse = z.infer<typeof PluginUiListResponseSchema>;

/** `GET /api/plugins/{id}/ui`: the page's HTML (shown in a sandboxed frame, never in the app's own document). */
export const PluginUiResponseSchema = PluginUiEntrySchema.extend({ html: z.string() });
export type PluginUiResponse = z.infer<typeof PluginUiResponseSchema>;

/**
 * The channel between a plugin's page and the app (window.postMessage). The page asks with `invoke`; the app answers
 * each with `result`, paired by `id`. Anything else, from anywhere else, is ignored.
 */
export const PluginUiInvokeMessageSchema = z.strictObject({
  kai: z.literal(1),
  id: z.union([z.string().min(1).max(64), z.int().min(0).max(Number.MAX_SAFE_INTEGER)]),
  type: z.literal("invoke"),
  capability: CapabilitySchema,
  input: z.unknown(),
});
export type PluginUiInvokeMessage = z.infer<typeof PluginUiInvokeMessageSchema>;

export const PluginUiResultMessageSchema = z.union([
  z.strictObject({ kai: z.literal(1), id: PluginUiInvokeMessageSchema.shape.id, ok: z.literal(true), output: z.unknown() }),
  z.strictObject({ kai: z.literal(1), id: PluginUiInvokeMessageSchema.shape.id, ok: z.literal(false), error: z.string() }),
]);
export type PluginUiResultMessage = z.infer<typeof PluginUiResultMessageSchema>;
