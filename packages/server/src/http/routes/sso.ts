/**
 * @module http/routes/sso
 * Single sign-on routes (issue 14), public (no bearer token: whoever calls them is not signed in yet) and in the
 * `auth` rate-limit tier of the sign-in scope:
 * - `GET /api/auth/sso/providers`: the providers a sign-in page offers (id and display name only);
 * - `GET /api/auth/sso/{provider}/start?return=/path`: 302 to the provider, with a short-lived HttpOnly cookie
 *   binding the sign-in to this browser;
 * - `GET /api/auth/sso/{provider}/callback`: the provider sends the browser back here; the session's cookies are
 *   set and the browser goes on (302) to the return path.
 * Errors are `sso_failed` (or `account_disabled`) with a message for the person; the query (code, state) is never
 * logged (request-log.ts logs no query string) nor echoed.
 */
import { fastifyCookie } from "@fastify/cookie";
import { z } from "zod";
import type { FastifyContextConfig, FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBodySchema, ListSsoProvidersResponseSchema, SsoCallbackQuerySchema, SsoStartQuerySchema } from "@kai/protocol";
import type { IssuedSession } from "../../auth/sign-in-ports.js";
import type { SsoService } from "../../auth/sso/sso-service.js";
import { bindingCookieName } from "../../auth/sso/sso-state.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema, 503: ErrorBodySchema };
/** The `auth` rate-limit tier (per client address) of the public sign-in routes (http/rate-limit.ts). */
const AUTH_BUCKET = { bucket: "auth" } as unknown as FastifyContextConfig;
/** The binding cookies are sent only to these routes. */
const COOKIE_PATH = "/api/auth/sso";
const ProviderParamsSchema = z.strictObject({ provider: z.string().min(1).max(64) });

export interface SsoRouteOptions {
  /** Sets the session's cookies on the reply (cookie mode), without sending it: SPINE's http/session-reply.ts. */
  setSessionCookies: (request: FastifyRequest, reply: FastifyReply, issued: IssuedSession) => void;
  /** Cookies' Secure flag: `auto` = when the request came over HTTPS (auth.signIn.secureCookies). */
  secureCookies?: "auto" | "always";
}

export function ssoRoutes(sso: SsoService, options: SsoRouteOptions): FastifyPluginAsyncZod {
  const secure = (request: FastifyRequest) => options.secureCookies === "always" || request.protocol === "https";
  return async (app) => {
    app.get("/api/auth/sso/providers", {
      config: AUTH_BUCKET,
      schema: {
        tags: ["sign-in"],
        summary: "Single sign-on providers (public)",
        description: "The OpenID Connect providers this node offers: id and display name only.",
        response: { 200: ListSsoProvidersResponseSchema, 429: ErrorBodySchema },
      },
    }, async () => ({ providers: sso.providers() }));

    app.get("/api/auth/sso/:provider/start", {
      config: AUTH_BUCKET,
      schema: {
        tags: ["sign-in"],
        summary: "Start signing in with a provider (public; 302 to the provider)",
        description: "Redirects the browser to the provider (authorization code + PKCE). `return` must be a path on this server (no other site); default `/`.",
        params: ProviderParamsSchema,
        querystring: SsoStartQuerySchema,
        response: { 302: z.null().describe("to the provider"), ...errors },
      },
    }, async (request, reply) => {
      const started = await sso.start(request.params.provider, { returnTo: request.query.return, origin: `${request.protocol}://${request.host}` });
      const cookie = fastifyCookie.serialize(bindingCookieName(started.state), started.binding, {
        httpOnly: true,
        secure: secure(request),
        // Lax: sent on the provider's top-level redirect back to the callback, not on cross-site subrequests.
        sameSite: "lax",
        path: COOKIE_PATH,
        maxAge: started.maxAgeSeconds,
      });
      return reply.header("set-cookie", cookie).header("cache-control", "no-store").redirect(started.location, 302);
    });

    app.get("/api/auth/sso/:provider/callback", {
      config: AUTH_BUCKET,
      schema: {
        tags: ["sign-in"],
        summary: "The provider's redirect back (public; signs in, 302 to the return path)",
        description: "Checks the provider's answer, creates the user at first sign-in, starts a session (cookies) and redirects to the path given at start.",
        params: ProviderParamsSchema,
        querystring: SsoCallbackQuerySchema,
        response: { 302: z.null().describe("to the return path, signed in"), ...errors },
      },
    }, async (request, reply) => {
      const cookies = fastifyCookie.parse(request.headers.cookie ?? "");
      const query: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.query)) if (typeof value === "string") query[name] = value;
      const state = query.state;
      // The binding cookie has done its job either way: gone with the sign-in it was for.
      if (state !== undefined) {
        reply.header("set-cookie", fastifyCookie.serialize(bindingCookieName(state), "", { httpOnly: true, secure: secure(request), sameSite: "lax", path: COOKIE_PATH, maxAge: 0 }));
      }
      const signedIn = await sso.callback(request.params.provider, {
        query,
        binding: (name) => cookies[bindingCookieName(name)],
        userAgent: request.headers["user-agent"]?.slice(0, 512) ?? null,
        address: request.ip,
      });
      options.setSessionCookies(request, reply, signedIn.issued);
      return reply.header("cache-control", "no-store").redirect(signedIn.returnPath, 302);
    });
  };
}
