/**
 * @module http/authenticate
 * Authentication and scope checks for every route in the protected scope. A route declares the scopes it needs in
 * `config.scopes` (any one suffices; an empty list means any valid token). The token comes from
 * `Authorization: Bearer …`, from `?token=` on WebSocket upgrades (browsers cannot set headers there), or from a
 * browser session's access cookie (issue 14). A cookie-authenticated request that changes anything must carry the
 * session's CSRF token in `X-CSRF-Token` (`csrf_failed` otherwise): a cookie is sent by the browser on its own, the
 * header only by a page of ours that read the token. A user's token is refused with `session_revoked` or
 * `account_disabled` when that is why.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Scope } from "@kai/protocol";
import { hasAnyScope, type Principal } from "../auth/principal.js";
import type { TokenService } from "../auth/token-service.js";
import { ApiError } from "../errors.js";
import { CSRF_HEADER, sessionCookie } from "./session-reply.js";

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Scopes of which the caller needs one; [] = any valid token. */
    scopes?: readonly Scope[];
    /** Rate-limit bucket this route draws from (`auth`: the public sign-in routes' tier). */
    bucket?: "read" | "write" | "heartbeat" | "gateway" | "auth";
    /** The body is a stream of any length (an upload): once authorised it is timed by progress (http/body-guard.ts). */
    streamedBody?: boolean;
  }
}

/** Checks a session's CSRF token (SessionService.checkCsrf). */
export type CsrfCheck = (sessionId: string, presented: string | undefined) => boolean;

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function tokenFrom(request: FastifyRequest): { token: string; cookie: boolean } | undefined {
  const header = request.headers.authorization;
  if (header) return { token: BEARER.exec(header)?.[1] ?? "", cookie: false };
  if (request.headers.upgrade?.toLowerCase() === "websocket") {
    const query = request.query as Record<string, unknown> | undefined;
    const token = query?.token;
    if (typeof token === "string") return { token, cookie: false };
  }
  const cookie = sessionCookie(request, "access");
  if (cookie !== undefined) return { token: cookie, cookie: true };
  return undefined;
}

/**
 * Returns the onRequest hook that authenticates and authorises every request of the scope it is added to.
 * Callback-style on purpose: most requests carry a token verified before (`verifyCached`) and are decided
 * without a promise; only a token seen for the first time waits for its signature check.
 */
export function createAuthenticateHook(tokens: TokenService, csrf?: CsrfCheck) {
  return function authenticate(request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void {
    const found = tokenFrom(request);
    if (found === undefined) return done(new ApiError("unauthorized", "missing bearer token (Authorization: Bearer <token>)", undefined, { "WWW-Authenticate": "Bearer" }));
    const { token, cookie } = found;
    if (!token) return done(invalidToken());
    const cached = tokens.verifyCached(token);
    if (cached !== undefined) return done(authorise(request, cached, token, tokens, cookie, csrf));
    tokens.verify(token).then(
      (principal) => done(authorise(request, principal, token, tokens, cookie, csrf)),
      (error: unknown) => done(error instanceof Error ? error : new Error("token verification failed")),
    );
  };
}

const invalidToken = () => new ApiError("unauthorized", "invalid, expired or revoked token", undefined, { "WWW-Authenticate": 'Bearer error="invalid_token"' });

/** Checks the route's scopes against the principal; sets `request.principal`, or returns the error to answer. */
function authorise(request: FastifyRequest, verified: Principal | null, token: string, tokens: TokenService, cookie: boolean, csrf: CsrfCheck | undefined): ApiError | undefined {
  if (!verified) {
    const why = tokens.refusal(token);
    if (why === "session_revoked") return new ApiError("session_revoked", "the session of this token has ended; sign in again");
    if (why === "account_disabled") return new ApiError("account_disabled", "this user is disabled");
    return invalidToken();
  }
  let principal = verified;
  if (cookie) {
    // Only a session's access token is accepted from a cookie, and a write needs the session's CSRF token.
    if (!principal.sessionId) return invalidToken();
    // A WebSocket upgrade is a GET that no CSRF header can accompany (browsers cannot set one), and SameSite=Lax
    // still sends the cookie from another port of the same site: the browser's Origin must be this node's own.
    if (request.headers.upgrade !== undefined && !sameOrigin(request)) {
      return new ApiError("csrf_failed", "a cookie-authenticated WebSocket must come from this node's own origin");
    }
    if (!SAFE_METHODS.has(request.method)) {
      const header = request.headers[CSRF_HEADER];
      if (!csrf || !csrf(principal.sessionId, typeof header === "string" ? header : undefined)) {
        return new ApiError("csrf_failed", `a cookie-authenticated write needs the session's CSRF token in ${CSRF_HEADER}`);
      }
    }
    principal = { ...principal, via: "cookie" };
  }
  const required = request.routeOptions.config.scopes ?? [];
  if (required.length > 0 && !hasAnyScope(principal, required)) {
    return new ApiError("forbidden", `this token lacks the scope for this route (needs ${required.join(" or ")})`);
  }
  request.principal = principal;
  return undefined;
}

/** Whether the request's Origin (browsers always send one on a WebSocket upgrade) is the host it was sent to. */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host === request.host;
  } catch {
    return false;
  }
}

/** The authenticated principal of a request in the protected scope. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ApiError("unauthorized", "not authenticated");
  return request.principal;
}

/**
 * The id of the user behind the caller's token (a session's access token or a personal token): what the `/me` routes
 * act on. `not_found` for a token that belongs to no user (the admin token, a service's token): there is no "me".
 */
export function userIdOf(request: FastifyRequest): string {
  const userId = principalOf(request).userId;
  if (!userId) throw new ApiError("not_found", "no user behind this token (sign in with POST /api/auth/login)");
  return userId;
}
