/**
 * @module config
 * `client.config` (scope `config:admin`): the node's effective configuration with secrets redacted
 * (`GET /api/config`), where one setting's value comes from (`explain`: every layer's value and the winner), either
 * node-wide or in one agent's view (`{ agent: "kPlanner:main" }`: its overrides file applied), and
 * runtime changes (`set`: the runtime layer, all or nothing; refused 409 `config_locked` / `config_restart_required`).
 * Answers are parsed with their protocol schemas.
 */
import { ConfigExplainResponseSchema, ConfigPatchResponseSchema, NodeConfigResponseSchema } from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";
import type { ConfigClient } from "./types.js";

export function createConfigClient(http: HttpTransport): ConfigClient {
  return {
    get: async (options = {}) => (await http.request("GET", "/api/config", { ...(options.agent !== undefined ? { query: { agent: options.agent } } : {}), schema: NodeConfigResponseSchema })).data,
    explain: async (key, options = {}) => (await http.request("GET", "/api/config/explain", { query: { key, ...(options.agent !== undefined ? { agent: options.agent } : {}) }, schema: ConfigExplainResponseSchema })).data,
    set: async (settings) => (await http.request("PATCH", "/api/config", { body: { settings }, schema: ConfigPatchResponseSchema })).data,
  };
}
