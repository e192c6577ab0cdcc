/**
 * @module http/routes/tokens
 * Token management (admin): mint, list, revoke.
 */
import { z } from "zod";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { CreateTokenRequestSchema, CreateTokenResponseSchema, ErrorBodySchema, ListTokensResponseSchema } from "@kai/protocol";
import type { TokenService } from "../../auth/token-service.js";
import { principalOf } from "../authenticate.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];

export function tokenRoutes(tokens: TokenService): FastifyPluginAsyncZod {
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
      return reply.status(204).send(null);
    });
  };
}
