/**
 * @module http/routes/auth
 * Sessions over HTTP (issue 14). Two plugins:
 * - `signInRoutes` (public, registered in app.ts's sign-in scope: the caller has no token yet): `POST /api/auth/login`
 *   for people (password, then a second factor) and agents (a signed challenge), `POST /api/auth/refresh`,
 *   `POST /api/auth/logout`. Token mode answers tokens in the body; cookie mode sets HttpOnly cookies.
 * - `authRoutes` (in the protected scope): `GET /api/auth/validate` (who am I), the caller's sessions, revoking one,
 *   and the security log (admin).
 */
import { z } from "zod";
import type { FastifyContextConfig, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import {
  AgentLoginRequestSchema,
  ErrorBodySchema,
  ListSecurityEventsResponseSchema,
  ListSessionsResponseSchema,
  LoginRequestSchema,
  LoginResponseSchema,
  LogoutRequestSchema,
  PasswordLoginRequestSchema,
  RefreshRequestSchema,
  ValidateResponseSchema,
} from "@kai/protocol";
import type { SignInService } from "../../auth/sign-in/sign-in-service.js";
import type { SessionService } from "../../auth/sessions/session-service.js";
import type { SecurityLog } from "../../auth/security-log.js";
import type { AccessTable } from "../../auth/users/access-table.js";
import type { TokenService } from "../../auth/token-service.js";
import { isAdmin } from "../../auth/principal.js";
import { principalOf, userIdOf } from "../authenticate.js";
import { clearSessionCookies, sendSession, sessionCookie, signInClientOf } from "../session-reply.js";
import { ApiError } from "../../errors.js";

/** The sign-in routes' rate-limit tier (per client address): `auth`. */
export const SIGN_IN_BUCKET: FastifyContextConfig = { bucket: "auth" };

const publicErrors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 429: ErrorBodySchema };
const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema };
const security = [{ bearer: [] }];


export interface SignInRouteDeps {
  signIn: SignInService;
  sessions: SessionService;
  tokens: TokenService;
}

export function signInRoutes(deps: SignInRouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post("/api/auth/login", {
      config: SIGN_IN_BUCKET,
      schema: {
        tags: ["auth"],
        summary: "Sign in: a person with username and password (and a second factor), or an agent with a signed challenge (no authentication)",
        description:
          "People: `{username, password, code?|recoveryCode?|passkey?, newPassword?, mode?}`; answers `mfa_required` when a second factor " +
          "is enrolled and none came, `password_change_required` for a one-time password without `newPassword`. Agents: " +
          "`{did, challengeId, signature}` after `POST /api/auth/challenge`. Every wrong name, password, code or signature answers " +
          "`invalid_credentials`. `mode: cookie` sets HttpOnly cookies and answers only the CSRF token.",
        security: [],
        body: LoginRequestSchema,
        response: { 200: LoginResponseSchema, ...publicErrors },
      },
    }, async (request, reply) => {
      const body = request.body;
      if ("did" in body) {
        const agent = AgentLoginRequestSchema.parse(body);
        return sendSession(reply, await deps.signIn.agent(agent, signInClientOf(request)), "token");
      }
      const person = PasswordLoginRequestSchema.parse(body);
      return sendSession(reply, await deps.signIn.password(person, signInClientOf(request)), person.mode);
    });

    app.post("/api/auth/refresh", {
      config: SIGN_IN_BUCKET,
      schema: {
        tags: ["auth"],
        summary: "Exchange a refresh token for a new access token and refresh token (no authentication)",
        description:
          "The refresh token comes in the body (token mode) or its cookie (cookie mode). It rotates on every use: a spent one presented " +
          "again (after a 10 s grace for a lost answer) revokes the whole session (`session_revoked`).",
        security: [],
        body: RefreshRequestSchema.nullish(),
        response: { 200: LoginResponseSchema, ...publicErrors },
      },
    }, async (request, reply) => {
      const fromBody = request.body?.refreshToken;
      const token = fromBody ?? sessionCookie(request, "refresh");
      if (!token) throw new ApiError("unauthorized", "no refresh token (send refreshToken, or the session cookie)");
      const mode = fromBody ? "token" : "cookie";
      try {
        return sendSession(reply, await deps.sessions.refresh(token, request.ip), mode);
      } catch (error) {
        if (mode === "cookie") clearSessionCookies(reply);
        throw error;
      }
    });

    app.post("/api/auth/logout", {
      config: SIGN_IN_BUCKET,
      schema: {
        tags: ["auth"],
        summary: "Sign out: end the session of a refresh token or of the session cookies (no authentication)",
        description: "Answers 204 whether or not the session was still live (signing out twice is not an error).",
        security: [],
        body: LogoutRequestSchema.nullish(),
        response: { 204: z.null().describe("Signed out"), ...publicErrors },
      },
    }, async (request, reply) => {
      const token = request.body?.refreshToken ?? sessionCookie(request, "refresh");
      if (token) await deps.sessions.logout(token, request.ip);
      else await logoutByAccessCookie(deps, request);
      clearSessionCookies(reply);
      return reply.status(204).send(null);
    });
  };
}

/** A cookie session whose refresh cookie is gone: its access cookie still names the session. */
async function logoutByAccessCookie(deps: SignInRouteDeps, request: FastifyRequest): Promise<void> {
  const access = sessionCookie(request, "access");
  const principal = access ? await deps.tokens.verify(access) : null;
  if (principal?.sessionId) await deps.sessions.logoutSession(principal.sessionId, request.ip);
}

export interface AuthRouteDeps {
  sessions: SessionService;
  access: AccessTable;
  log: SecurityLog;
}

export function authRoutes(deps: AuthRouteDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/auth/validate", {
      config: { scopes: [], bucket: "read" },
      schema: { tags: ["auth"], summary: "Who am I: the caller's owner, scopes, expiry and user", security, response: { 200: ValidateResponseSchema, ...errors } },
    }, async (request, reply) => {
      const principal = principalOf(request);
      const user = principal.userId ? deps.access.user(principal.userId) : undefined;
      return reply.header("Cache-Control", "no-store").send({
        owner: principal.owner,
        tokenId: principal.tokenId,
        scopes: [...principal.scopes],
        expiresAt: new Date(principal.expiresAt).toISOString(),
        ...(user ? { user: { id: user.id, username: user.username, kind: user.kind, roles: user.roles } } : {}),
        ...(principal.sessionId ? { sessionId: principal.sessionId } : {}),
        via: principal.via ?? "token",
      });
    });

    app.get("/api/auth/sessions", {
      config: { scopes: [], bucket: "read" },
      schema: { tags: ["auth"], summary: "The caller's own sessions (newest first)", security, response: { 200: ListSessionsResponseSchema, ...errors } },
    }, async (request) => {
      const user = deps.access.user(userIdOf(request));
      if (!user) throw new ApiError("not_found", "no user behind this token");
      return { sessions: await deps.sessions.list(user, principalOf(request).sessionId) };
    });

    app.delete("/api/auth/sessions/:id", {
      config: { scopes: [], bucket: "write" },
      schema: {
        tags: ["auth"],
        summary: "Revoke a session: one of the caller's own, or any (admin)",
        security,
        params: z.strictObject({ id: z.string().min(1).max(128) }),
        response: { 204: z.null().describe("Revoked"), ...errors },
      },
    }, async (request, reply) => {
      const principal = principalOf(request);
      const session = await deps.sessions.get(request.params.id);
      const own = session !== null && principal.userId !== undefined && session.userId === principal.userId;
      // Someone else's session is "not found" to a non-admin: its existence is not theirs to learn.
      if (!session || (!own && !isAdmin(principal))) throw new ApiError("not_found", "session not found");
      await deps.sessions.revoke(session.id, { actor: principal.owner, reason: own ? "user" : "admin", address: request.ip });
      return reply.status(204).send(null);
    });

    app.get("/api/security/events", {
      config: { scopes: ["admin"], bucket: "read" },
      schema: {
        tags: ["auth"],
        summary: "The security log, newest first (admin)",
        security,
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(500).default(100),
          before: z.coerce.number().int().min(1).optional(),
          userId: z.string().max(128).optional(),
          type: z.string().max(64).optional(),
        }),
        response: { 200: ListSecurityEventsResponseSchema, ...errors },
      },
    }, async (request) => {
      const { limit, before, userId, type } = request.query;
      const events = await deps.log.list({ limit, ...(before !== undefined ? { before } : {}), ...(userId !== undefined ? { userId } : {}), ...(type !== undefined ? { type } : {}) });
      return { events, nextBefore: events.length === limit ? (events.at(-1)?.seq ?? null) : null };
    });
  };
}
