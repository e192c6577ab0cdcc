/**
 * @module http/authenticate
 * Bearer-token authentication and scope checks for every route in the protected scope. A route
 * declares the scopes it needs in `config.scopes` (any one suffices; an empty list means any valid
 * token). The token comes from `Authorization: Bearer …`, or from `?token=` on WebSocket upgrades
 * (browsers cannot set headers there).
 */
import type { FastifyReply, FastifyRequest } from "fastify";
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

/**
 * Returns the onRequest hook that authenticates and authorises every request of the scope it is added to.
 * Callback-style on purpose: most requests carry a token verified before (`verifyCached`) and are decided
 * without a promise; only a token seen for the first time waits for its signature check.
 */
export function createAuthenticateHook(tokens: TokenService) {
  return function authenticate(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
    const token = tokenFrom(request);
    if (token === undefined) return done(new ApiError("unauthorized", "missing bearer token (Authorization: Bearer <token>)", undefined, { "WWW-Authenticate": "Bearer" }));
    if (!token) return done(invalidToken());
    const cached = tokens.verifyCached(token);
    if (cached !== undefined) return done(authorise(request, cached));
    tokens.verify(token).then(
      (principal) => done(authorise(request, principal)),
      (error: unknown) => done(error instanceof Error ? error : new Error("token verification failed")),
    );
  };
}

const invalidToken = () => new ApiError("unauthorized", "invalid, expired or revoked token", undefined, { "WWW-Authenticate": 'Bearer error="invalid_token"' });

/** Checks the route's scopes against the principal; sets `request.principal`, or returns the error to answer. */
function authorise(request: FastifyRequest, principal: Principal | null): ApiError | undefined {
  if (!principal) return invalidToken();
  const required = request.routeOptions.config.scopes ?? [];
  if (required.length > 0 && !hasAnyScope(principal, required)) {
    return new ApiError("forbidden", `this token lacks the scope for this route (needs ${required.join(" or ")})`);
  }
  request.principal = principal;
  return undefined;
}

/** The authenticated principal of a request in the protected scope. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError("unauthorized", "not authenticated");
  return request.principal;
}
