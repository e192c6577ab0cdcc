/**
 * @module plugins
 * `client.plugins` (scope `plugins:admin`): what the node found in its plugin folders (docs/plugins.md): the
 * listing with each plugin's state, trust level and why, and problems; one plugin with its manifest and node API
 * check; a rescan after adding, signing or fixing a plugin. Answers are parsed with their protocol schemas.
 */
import { PluginDetailSchema, PluginListResponseSchema, type PluginDetail, type PluginListResponse } from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";

export interface PluginsClient {
  /** `GET /api/plugins`: every plugin folder the node read, broken ones included, and problems not tied to one. */
  list(): Promise<PluginListResponse>;
  /** `GET /api/plugins/{id}`: one plugin (404 `not_found` for an id the node does not know). */
  get(id: string): Promise<PluginDetail>;
  /** `POST /api/plugins/rescan`: read the folders again; the new listing. */
  rescan(): Promise<PluginListResponse>;
}

export function createPluginsClient(http: HttpTransport): PluginsClient {
  return {
    list: async () => (await http.request("GET", "/api/plugins", { schema: PluginListResponseSchema })).data,
    get: async (id) => (await http.request("GET", `/api/plugins/${encodeURIComponent(id)}`, { schema: PluginDetailSchema })).data,
    rescan: async () => (await http.request("POST", "/api/plugins/rescan", { schema: PluginListResponseSchema })).data,
  };
}
