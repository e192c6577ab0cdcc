/**
 * @module plugins
 * `client.plugins` (scope `plugins:admin`): what the node found in its plugin folders (docs/plugins.md): the
 * listing with each plugin's state, trust level and why, and problems; one plugin with its manifest and node API
 * check; a rescan after adding, signing or fixing a plugin. Answers are parsed with their protocol schemas.
 */
import { PluginDetailSchema, PluginListResponseSchema, type PluginDetail, type PluginListResponse } from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";
import { createPluginLifecycleClient, type PluginLifecycleClient } from "./plugin-lifecycle.js";
import { createPluginUiClient, type PluginUiClient } from "./plugin-ui.js";

export interface PluginsClient {
  /** `GET /api/plugins`: every plugin folder the node read, broken ones included, and problems not tied to one. */
  list(): Promise<PluginListResponse>;
  /** `GET /api/plugins/{id}`: one plugin (404 `not_found` for an id the node does not know). */
  get(id: string): Promise<PluginDetail>;
  /** `POST /api/plugins/rescan`: read the folders again (running plugins whose folder changed restart); the new listing. */
  rescan(): Promise<PluginListResponse>;
  /** `POST /api/plugins/{id}/enable`: every instance starts it; answers once it runs or failed to start (`runtime.state`). */
  enable(id: string): Promise<PluginDetail>;
  /** `POST /api/plugins/{id}/disable`: every instance stops it; its registry record goes. */
  disable(id: string): Promise<PluginDetail>;
  // Install, update, remove, roll back, history (plugin-lifecycle.ts).
  install: PluginLifecycleClient["install"];
  remove: PluginLifecycleClient["remove"];
  history: PluginLifecycleClient["history"];
  rollback: PluginLifecycleClient["rollback"];
  update: PluginLifecycleClient["update"];
  // Plugin UIs (plugin-ui.ts).
  uis: PluginUiClient["uis"];
  ui: PluginUiClient["ui"];
}

export function createPluginsClient(http: HttpTransport): PluginsClient {
  return {
    list: async () => (await http.request("GET", "/api/plugins", { schema: PluginListResponseSchema })).data,
    get: async (id) => (await http.request("GET", `/api/plugins/${encodeURIComponent(id)}`, { schema: PluginDetailSchema })).data,
    rescan: async () => (await http.request("POST", "/api/plugins/rescan", { schema: PluginListResponseSchema })).data,
    enable: async (id) => (await http.request("POST", `/api/plugins/${encodeURIComponent(id)}/enable`, { schema: PluginDetailSchema })).data,
    disable: async (id) => (await http.request("POST", `/api/plugins/${encodeURIComponent(id)}/disable`, { schema: PluginDetailSchema })).data,
    // Install, update, remove, roll back, history (plugin-lifecycle.ts).
    ...createPluginLifecycleClient(http),
    // Plugin UIs (plugin-ui.ts).
    ...createPluginUiClient(http),
  };
}
