/**
 * @module http/authenticate
 * Bearer-token authentication and scope checks for every route in the protected scope. A route
 * declares the scopes it needs in `config.scopes` (any one suffices; an empty list means any valid
 * token). The token comes from `Authorization: Bearer …`, or from `?token=` on WebSocket upgrades
 * (browsers cannot set headers there).
 */
import type { FastifyRequest } from "fastify";
import type { Scope } from "@kai/protocol";
import { hasAnyScope, type Principal } from "../auth/principal.js";
import type { TokenService } from "../auth/token-service.js";
import { ApiError } from "../errors.js";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Scopes of which the caller needs one; [] = any valid token. */
    scopes?: readonly Scope[];
    /** Rate-limit bucket this route draws from. */
    bucket?: "read" | "write" | "heartbeat" | "gateway";
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function tokenFrom(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) return BEARER.exec(header)?.[1] ?? "";
  if (request.headers.upgrade?.toLowerCase() === "websocket") {
    const query = request.query as Record<string, unknown> | undefined;
    const token = query?.token;
    if (typeof token === "string") return token;
  }
  return undefined;
}

/** Returns the onRequest hook that authenticates and authorises every request of the scope it is added to. */
export function createAuthenticateHook(tokens: TokenService) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const token = tokenFrom(request);
    if (token === undefined) throw new ApiError("unauthorized", "missing bearer token (Authorization: Bearer <token>)", undefined, { "WWW-Authenticate": "Bearer" });
    const principal = token ? await tokens.verify(token) : null;
    if (!principal) throw new ApiError("unauthorized", "invalid, expired or revoked token", undefined, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    const required = request.routeOptions.config.scopes ?? [];
    if (required.length > 0 && !hasAnyScope(principal, required)) {
      throw new ApiError("forbidden", `this token lacks the scope for this route (needs ${required.join(" or ")})`);
    }
    request.principal = principal;
  };
}

/** The authenticated principal of a request in the protected scope. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError("unauthorized", "not authenticated");
  return request.principal;
}
