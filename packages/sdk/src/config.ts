/**
 * @module config
 * `client.config`: the node's effective configuration with secrets redacted (`GET /api/config`, scope `admin`),
 * parsed with its protocol schema. Read-only: the configuration is changed in the node's file or environment.
 */
import { NodeConfigResponseSchema } from "@kai/protocol";
import type { HttpTransport } from "./http-transport.js";
import type { ConfigClient } from "./types.js";

export function createConfigClient(http: HttpTransport): ConfigClient {
  return {
    get: async () => (await http.request("GET", "/api/config", { schema: NodeConfigResponseSchema })).data,
  };
}
