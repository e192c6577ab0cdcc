/**
 * @module http/routes/config
 * The node's configuration (scope `config:admin`; `admin` implies it):
 * - `GET /api/config`: the effective configuration with secrets redacted (config/layers/redact.ts), for the web
 *   app's Settings view and any operator asking "what is this node running with?"; `?agent=kClass:name`: that agent's
 *   view (its overrides file applied, config/layers/agent-layers.ts) and which keys its file sets;
 * - `GET /api/config/explain?key=a.b[&agent=]`: the key's value in every layer and which layer wins (and any lock);
 * - `PATCH /api/config`: the runtime layer, all or nothing (config/layers/layered-config.ts): refused 409
 *   `config_locked` for a locked key, 409 `config_restart_required` for settings that cannot change live. Every
 *   applied change is a security-log event (who, key, old, new, redacted); CONFIG_UPDATE is published by the
 *   `onChanged` that server.ts gave the LayeredConfig. No `?agent=`: an agent's overrides are its operator-owned
 *   file, which the node never writes (docs/decisions/0014-config-layers.md says why); the query is refused.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ConfigExplainQuerySchema, ConfigExplainResponseSchema, ConfigPatchQuerySchema, ConfigPatchRequestSchema, ConfigPatchResponseSchema, ConfigViewQuerySchema, ErrorBodySchema, NodeConfigResponseSchema, type NodeConfigResponse } from "@kai/protocol";
import type { SecurityLog } from "../../auth/security-log.js";
import { LayeredConfig } from "../../config/layers/layered-config.js";
import type { RuntimeLayerSync } from "../../config/layers/runtime-layer-sync.js";
import { principalOf } from "../authenticate.js";
import { redactConfig } from "../../config/layers/redact.js";

export { redactConfig };
import type { Config } from "../../config/config-schema.js";
import { VERSION } from "../../version.js";

const errors = { 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];

/** The answer of `GET /api/config` for a configuration. */
export function configView(config: Config): NodeConfigResponse {
  const redacted: string[] = [];
  const view = redactConfig(config, redacted) as Record<string, unknown>;
  return { config: view, redacted, version: VERSION };
}

export interface ConfigRouteDeps {
  /** The layers and the runtime layer (absent: a fixed configuration, no layers to explain but its own). */
  layered?: LayeredConfig;
  /** Where runtime changes are recorded (who, key, old, new). */
  log?: SecurityLog;
  /** Stores the runtime layer and shares it with the other instances (absent: this process's memory only). */
  sync?: RuntimeLayerSync;
}

export function configRoutes(config: Config, deps: ConfigRouteDeps = {}): FastifyPluginAsyncZod {
  const layered = deps.layered ?? LayeredConfig.fixed(config);
  return async (app) => {
    app.get("/api/config", {
      config: { scopes: ["config:admin"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "The node's effective configuration, secrets redacted (config:admin)",
        description:
          "Every setting after its layers were merged (defaults, system, policy and user files, KAI_* variables, flags, runtime changes). " +
          "With `agent` (`kClass:name`): that agent's view, its overrides file (`<kClass>.<name>.yaml` in the agents' folder) between the flags " +
          "and the runtime layer, and `agent` naming the file and the keys it sets (an agent without a file sees the node's settings). " +
          "Secrets are replaced by `[redacted]` (values under keys naming a password, passphrase, secret, token, API key, private key or " +
          "credentials; a URL's password and secret-named query parameters) and their paths listed in `redacted`.",
        security,
        querystring: ConfigViewQuerySchema,
        response: { 200: NodeConfigResponseSchema, 400: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const agent = request.query.agent;
      const view = agent === undefined ? configView(config) : { ...configView(layered.forAgent(agent)), agent: { id: agent, ...layered.agentOverrides(agent) } };
      return reply.header("Cache-Control", "no-store").send(view);
    });

    app.get("/api/config/explain", {
      config: { scopes: ["config:admin"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "Where a setting's value comes from: every layer's value and the winner (config:admin)",
        description:
          "Layers lowest first: defaults, system, policy, user, env, cli, runtime; with `agent` (`kClass:name`), that agent's view, its overrides " +
          "file as the `agent` layer below runtime. `locked` names the system or policy file that locks the key; `live` says whether PATCH applies it at once.",
        security,
        querystring: ConfigExplainQuerySchema,
        response: { 200: ConfigExplainResponseSchema, 400: ErrorBodySchema, 404: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => reply.header("Cache-Control", "no-store").send(layered.explain(request.query.key, request.query.agent)));

    app.patch("/api/config", {
      config: { scopes: ["config:admin"], bucket: "write" },
      schema: {
        tags: ["node"],
        summary: "Change settings at run time: the runtime layer, all or nothing (config:admin)",
        description:
          "`settings` maps dotted keys to values (`null` removes the key from the runtime layer). Applied only when every changed " +
          "setting can change live (`logging.level`, the rate limit tiers `rateLimit.global|auth|read|write|heartbeat|gateway`, the routing " +
          "settings `gateway.defaultStrategy|deadlineMs|attemptTimeoutMs|streamIdleTimeoutMs|retries|backoff`); " +
          "otherwise 409 `config_restart_required` naming the keys. A key locked by a system or policy file: 409 `config_locked` naming " +
          "the file. An invalid value: 400 `validation_failed` naming the key. Each applied change is a security-log event and a " +
          "CONFIG_UPDATE event. The runtime layer is stored by the node before it is applied: every instance applies it, and a restart keeps it. " +
          "The runtime layer is node-wide and sits above every agent's overrides file; there is no per-agent PATCH (an agent's overrides are its " +
          "operator-owned file), so a query such as `?agent=` is refused 400 `validation_failed`.",
        security,
        querystring: ConfigPatchQuerySchema,
        body: ConfigPatchRequestSchema,
        response: { 200: ConfigPatchResponseSchema, 400: ErrorBodySchema, 409: ErrorBodySchema, ...errors },
      },
    }, async (request, reply) => {
      const actor = principalOf(request).owner;
      const result = deps.sync ? await deps.sync.change(request.body.settings, actor) : layered.change(request.body.settings, actor);
      for (const change of result.changed) {
        await deps.log?.record({ type: "config_changed", outcome: "success", actor, address: request.ip, details: { key: change.key, old: change.old ?? null, new: change.new ?? null, ...(change.agent !== undefined ? { agent: change.agent } : {}) } });
      }
      return reply.send(result);
    });
  };
}
