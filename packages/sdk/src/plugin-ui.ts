/**
 * @module plugin-ui
 * Plugin UIs (issue 18, docs/plugins.md "Plugin UIs"), scope `gateway:invoke`; merged into `client.plugins`: the
 * running plugins with a UI page (the web app's Plugins menu) and one page's HTML with the capabilities it may call.
 * Answers are parsed with their protocol schemas.
 */
import { PluginUiListResponseSchema, PluginUiResponseSchema, type PluginUiListResponse, type PluginUiResponse } from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";

export interface PluginUiClient {
  /** `GET /api/plugin-uis`: the plugins running here whose manifest has `ui.menu` and `ui.page`. */
  uis(): Promise<PluginUiListResponse>;
  /** `GET /api/plugins/{id}/ui`: the page's HTML (404 without one, 503 `plugin_unavailable` while it is not running). */
  ui(id: string): Promise<PluginUiResponse>;
}

export function createPluginUiClient(http: HttpTransport): PluginUiClient {
  return {
    uis: async () => (await http.request("GET", "/api/plugin-uis", { schema: PluginUiListResponseSchema })).data,
    ui: async (id) => (await http.request("GET", `/api/plugins/${encodeURIComponent(id)}/ui`, { schema: PluginUiResponseSchema })).data,
  };
}
