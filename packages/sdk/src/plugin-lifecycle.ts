/**
 * @module plugin-lifecycle
 * Installing, updating, removing and rolling back plugins (issue 18, docs/plugins.md "Install, update, remove, roll
 * back"), scope `plugins:admin`; merged into `client.plugins`. `install` sends a .tar.gz of the plugin folder (bytes,
 * a Blob or a stream: `kai plugin install FOLDER` packs one); `update` sends a signed update manifest, which the node
 * verifies, downloads and checks. Answers are parsed with their protocol schemas.
 */
import {
  PluginDetailSchema,
  PluginHistoryResponseSchema,
  PluginRemoveResponseSchema,
  type PluginDetail,
  type PluginHistoryResponse,
  type PluginRemoveResponse,
} from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";

/** A package upload or an update's download take as long as their bytes do (and the new version's start check). */
const TRANSFER_TIMEOUT_MS = 600_000;
const pluginPath = (id: string) => `/api/plugins/${encodeURIComponent(id)}`;

export interface PluginLifecycleClient {
  /** `POST /api/plugins/install`: a .tar.gz package; `replace` keeps the installed version in the history instead of a 409. */
  install(data: Uint8Array | Blob | ReadableStream<Uint8Array>, options?: { replace?: boolean; signal?: AbortSignal }): Promise<PluginDetail>;
  /** `DELETE /api/plugins/{id}`: into the history (a rollback restores it), or deleted for good with `purge`. */
  remove(id: string, options?: { purge?: boolean }): Promise<PluginRemoveResponse>;
  /** `GET /api/plugins/{id}/history`: the installed version and the kept ones, newest first. */
  history(id: string): Promise<PluginHistoryResponse>;
  /** `POST /api/plugins/{id}/rollback`: the newest kept version (or the newest kept one of `version`) back in place. */
  rollback(id: string, options?: { version?: string }): Promise<PluginDetail>;
  /** `POST /api/plugins/{id}/update`: a signed update manifest (`{plugin, latest, url, checksum, did, signature}`). */
  update(id: string, manifest: Record<string, unknown>, options?: { force?: boolean }): Promise<PluginDetail>;
}

export function createPluginLifecycleClient(http: HttpTransport): PluginLifecycleClient {
  return {
    install: async (data, options = {}) =>
      (
        await http.request("POST", "/api/plugins/install", {
          ...(options.replace ? { query: { replace: "true" } } : {}),
          rawBody: { data, contentType: "application/gzip" },
          schema: PluginDetailSchema,
          timeoutMs: TRANSFER_TIMEOUT_MS,
          ...(options.signal ? { signal: options.signal } : {}),
        })
      ).data,
    remove: async (id, options = {}) =>
      (await http.request("DELETE", pluginPath(id), { ...(options.purge ? { query: { purge: "true" } } : {}), schema: PluginRemoveResponseSchema })).data,
    history: async (id) => (await http.request("GET", `${pluginPath(id)}/history`, { schema: PluginHistoryResponseSchema })).data,
    rollback: async (id, options = {}) =>
      (await http.request("POST", `${pluginPath(id)}/rollback`, { body: options.version === undefined ? {} : { version: options.version }, schema: PluginDetailSchema, timeoutMs: TRANSFER_TIMEOUT_MS })).data,
    update: async (id, manifest, options = {}) =>
      (await http.request("POST", `${pluginPath(id)}/update`, { body: { manifest, ...(options.force ? { force: true } : {}) }, schema: PluginDetailSchema, timeoutMs: TRANSFER_TIMEOUT_MS })).data,
  };
}
