/**
 * @module http/routes/config
 * `GET /api/config` (scope `admin`): the node's effective configuration with secrets redacted, for the web app's
 * Settings view and any operator asking "what is this node running with?". Redaction is by shape, not by a list
 * of today's settings, so a secret added to the config later is hidden without anyone remembering this file:
 * - a string under a key that names a secret (password, passphrase, secret, token, api key, private key,
 *   credentials) is replaced;
 * - a URL's password (`postgres://user:pw@host`, `redis://:pw@host`) and any query parameter named like a secret
 *   are replaced, the rest of the URL (host, database) stays readable.
 * File paths (`keyFile`, `certFile`, `keyDir`) and references to secrets (SSO's `clientSecret: {vault: name}`) are
 * not secrets themselves and stay.
 */
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBodySchema, NodeConfigResponseSchema, REDACTED_VALUE, type NodeConfigResponse } from "@kai/protocol";
import type { Config } from "../../config/config-schema.js";
import { VERSION } from "../../version.js";

const errors = { 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];

/** Key names whose string values are secrets. */
const SECRET_KEY = /(password|passphrase|secret|token|api[-_]?key|private[-_]?key|credentials?)$/i;

/** A URL with its password and secret-named query parameters replaced; `undefined` when nothing was secret. */
function redactUrl(value: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  let changed = false;
  if (url.password !== "") {
    url.password = "REDACTED";
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_KEY.test(name)) {
      url.searchParams.set(name, "REDACTED");
      changed = true;
    }
  }
  return changed ? url.toString().replaceAll("REDACTED", REDACTED_VALUE) : undefined;
}

/** A deep copy of `value` with secrets replaced; each replaced value's dotted path is pushed to `paths`. */
export function redactConfig(value: unknown, paths: string[] = [], path = ""): unknown {
  if (Array.isArray(value)) return value.map((item, index) => redactConfig(item, paths, `${path}.${index}`));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const here = path === "" ? key : `${path}.${key}`;
      if (typeof item === "string" && SECRET_KEY.test(key)) {
        out[key] = REDACTED_VALUE;
        paths.push(here);
      } else {
        out[key] = redactConfig(item, paths, here);
      }
    }
    return out;
  }
  if (typeof value === "string") {
    const url = redactUrl(value);
    if (url !== undefined) {
      paths.push(path);
      return url;
    }
  }
  return value;
}

/** The answer of `GET /api/config` for a configuration. */
export function configView(config: Config): NodeConfigResponse {
  const redacted: string[] = [];
  const view = redactConfig(config, redacted) as Record<string, unknown>;
  return { config: view, redacted, version: VERSION };
}

export function configRoutes(config: Config): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/config", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: {
        tags: ["node"],
        summary: "The node's effective configuration, secrets redacted (admin)",
        description:
          "Every setting after defaults, the YAML file, KAI_* variables and flags were merged. Secrets are replaced by `[redacted]` " +
          "(values under keys naming a password, passphrase, secret, token, API key, private key or credentials; a URL's password " +
          "and secret-named query parameters) and their paths listed in `redacted`.",
        security,
        response: { 200: NodeConfigResponseSchema, ...errors },
      },
    }, async (_request, reply) => reply.header("Cache-Control", "no-store").send(configView(config)));
  };
}
