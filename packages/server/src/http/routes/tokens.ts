/**
 * @module http/routes/tokens
 * Token management (admin): mint, list, revoke. Minting and revoking are security events (`token_created`,
 * `token_revoked`: who, from where, the token's id, owner, scopes and expiry; never the token), as a sign-in or a role
 * change is: a new admin token is a new way in. Before, only the request's own log line recorded them.
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { CreateTokenRequestSchema, CreateTokenResponseSchema, ErrorBodySchema, ListTokensResponseSchema } from "@kai/protocol";
import type { FastifyRequest } from "fastify";
import type { SecurityLog } from "../../auth/security-log.js";
import type { TokenService } from "../../auth/token-service.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];

/** What a token event records of the token: never its text (the security log drops a `token` key anyway). */
export interface TokenEventDetails {
  id: string;
  owner?: string;
  scopes?: readonly string[];
  expiresAt?: string | null;
  name?: string | null;
}

/** Records `token_created` or `token_revoked` for `request`'s caller (no-op without a security log). */
export async function recordTokenEvent(log: SecurityLog | undefined, type: "token_created" | "token_revoked", request: FastifyRequest, details: TokenEventDetails): Promise<void> {
  await log?.record({ type, outcome: "success", actor: principalOf(request).owner, address: request.ip, details: { ...details } });
}

export function tokenRoutes(tokens: TokenService, log?: SecurityLog): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/tokens", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: {
        tags: ["tokens"],
        summary: "Mint an access token (admin)",
        description: "The token is returned once and never again. `ttl` accepts 90s, 30m, 24h, 7d, 2w or seconds.",
        security,
        body: CreateTokenRequestSchema,
        response: { 201: CreateTokenResponseSchema, ...errors },
      },
    }, async (request, reply) => {
      const body = request.body;
      const minted = await tokens.mint({ ...body, owner: body.owner ?? principalOf(request).owner });
      await recordTokenEvent(log, "token_created", request, { id: minted.id, owner: minted.owner, scopes: minted.scopes, expiresAt: minted.expiresAt, name: minted.name ?? null });
      return reply.status(201).header("Cache-Control", "no-store").send(minted);
    });

    app.get("/api/tokens", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: { tags: ["tokens"], summary: "List tokens (admin; never their values)", security, response: { 200: ListTokensResponseSchema, ...errors } },
    }, async () => ({ tokens: await tokens.list() }));

    app.delete("/api/tokens/:id", {
      config: { scopes: ["admin"], bucket: "write" },
      schema: {
        tags: ["tokens"],
        summary: "Revoke a token (admin)",
        security,
        params: z.strictObject({ id: z.string().min(1).max(128) }),
        response: { 204: z.null().describe("Revoked"), ...errors },
      },
    }, async (request, reply) => {
      await tokens.revoke(request.params.id);
      await recordTokenEvent(log, "token_revoked", request, { id: request.params.id });
      return reply.status(204).send(null);
    });
  };
}
