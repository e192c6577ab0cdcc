/**
 * @module http/routes/sso
 * Single sign-on routes (issue 14), public (no bearer token: whoever calls them is not signed in yet) and in the
 * `auth` rate-limit tier of the sign-in scope:
 * - `GET /api/auth/sso/providers`: the providers a sign-in page offers (id and display name only);
 * - `GET /api/auth/sso/{provider}/start?return=/path`: 302 to the provider, with a short-lived HttpOnly cookie
 *   binding the sign-in to this browser;
 * - `GET /api/auth/sso/{provider}/callback`: the provider sends the browser back here; the session's cookies are
 *   set and the browser goes on (302) to the return path — or, for the CLI (`mode=token`), to its loopback address
 *   with a one-time code;
 * - `POST /api/auth/sso/exchange`: the CLI trades that code and its verifier for tokens.
 * Errors are `sso_failed` (or `account_disabled`) with a message for the person; the query (code, state) is never
 * logged (request-log.ts logs no query string) nor echoed. A browser's own sign-in (a page navigation, `Accept:
 * text/html`, not the CLI's token mode) that fails at start or callback is sent back to the web app's sign-in page
 * (`/?sso_error=<code>&sso_message=<message>`) instead of being left on a JSON error page; programs keep the JSON.
 */
import { fastifyCookie } from "@fastify/cookie";
import { z } from "zod";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { ErrorBodySchema, ListSsoProvidersResponseSchema, LoginResponseSchema, SsoCallbackQuerySchema, SsoExchangeRequestSchema, SsoStartQuerySchema } from "@kai/protocol";
import type { SsoService } from "../../auth/sso/sso-service.js";
import { bindingCookieName } from "../../auth/sso/sso-state.js";
import { AUTH_TIER } from "../rate-limit.js";
import { secureRequest, sendSession, signInClientOf } from "../session-reply.js";
import { ApiError } from "../../errors.js";

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema, 503: ErrorBodySchema };
/** The binding cookies are sent only to these routes. */
const COOKIE_PATH = "/api/auth/sso";
const ProviderParamsSchema = z.strictObject({ provider: z.string().min(1).max(64) });

/** A page navigation by a person's browser (not a program reading JSON). */
function browserNavigation(request: FastifyRequest): boolean {
  return request.method === "GET" && (request.headers.accept ?? "").includes("text/html");
}

/**
 * Runs a step of a browser's sign-in; a refusal it can explain (an ApiError: cancelled, disabled, unknown provider,
 * provider unreachable) goes back to the sign-in page with its stable code and message, so the person sees it in the
 * app and can try again. The message is the one written for the person (never a secret or the provider's answer).
 */
async function orBackToSignIn(request: FastifyRequest, reply: FastifyReply, step: () => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof ApiError) || !browserNavigation(request)) throw error;
    const query = new URLSearchParams({ sso_error: error.code, sso_message: error.message.slice(0, 300) });
    return reply.header("cache-control", "no-store").redirect(`/?${query.toString()}`, 302);
  }
}


export function ssoRoutes(sso: SsoService): FastifyPluginAsyncZod {
  return async (app) => {
    app.get("/api/auth/sso/providers", {
      config: AUTH_TIER,
      schema: {
        tags: ["sign-in"],
        summary: "Single sign-on providers (public)",
        description: "The OpenID Connect providers this node offers: id and display name only.",
        response: { 200: ListSsoProvidersResponseSchema, 429: ErrorBodySchema },
      },
    }, async () => ({ providers: sso.providers() }));

    app.get("/api/auth/sso/:provider/start", {
      config: AUTH_TIER,
      schema: {
        tags: ["sign-in"],
        summary: "Start signing in with a provider (public; 302 to the provider)",
        description: "Redirects the browser to the provider (authorization code + PKCE). `return` must be a path on this server (no other site); default `/`.",
        params: ProviderParamsSchema,
        querystring: SsoStartQuerySchema,
        response: { 302: z.null().describe("to the provider"), ...errors },
      },
    }, async (request, reply) => {
      const { query } = request;
      const begin = async (): Promise<FastifyReply> => {
        const started = await sso.start(request.params.provider, {
          returnTo: query.return,
          origin: `${request.protocol}://${request.host}`,
          ...(query.mode === "token" ? { cli: { redirect: query.redirect, challenge: query.challenge } } : {}),
        });
        const cookie = fastifyCookie.serialize(bindingCookieName(started.state), started.binding, {
          httpOnly: true,
          secure: secureRequest(request),
          // Lax: sent on the provider's top-level redirect back to the callback, not on cross-site subrequests.
          sameSite: "lax",
          path: COOKIE_PATH,
          maxAge: started.maxAgeSeconds,
        });
        return reply.header("set-cookie", cookie).header("cache-control", "no-store").redirect(started.location, 302);
      };
      // The CLI (token mode) reads errors as JSON; a person's browser goes back to the sign-in page.
      return query.mode === "token" ? begin() : orBackToSignIn(request, reply, begin);
    });

    app.get("/api/auth/sso/:provider/callback", {
      config: AUTH_TIER,
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
        reply.header("set-cookie", fastifyCookie.serialize(bindingCookieName(state), "", { httpOnly: true, secure: secureRequest(request), sameSite: "lax", path: COOKIE_PATH, maxAge: 0 }));
      }
      return orBackToSignIn(request, reply, async () => {
        const signedIn = await sso.callback(request.params.provider, {
          query,
          binding: (name) => cookies[bindingCookieName(name)],
          ...signInClientOf(request),
        });
        if (signedIn.mode === "token") return reply.header("cache-control", "no-store").redirect(signedIn.location, 302);
        // The session's cookies with a 302 to the return path: the browser follows it (the body, the usual sign-in
        // answer, is not shown to the page; the web app gets its CSRF token as after any reload of a cookie session).
        reply.status(302).header("location", signedIn.returnPath);
        return sendSession(reply, signedIn.issued, "cookie");
      });
    });

    app.post("/api/auth/sso/exchange", {
      config: AUTH_TIER,
      schema: {
        tags: ["sign-in"],
        summary: "The CLI trades its one-time SSO code for tokens (public)",
        description: "After `start?mode=token&redirect=http://127.0.0.1:<port>/…&challenge=…`, the CLI's loopback address receives `?code=`; this trades it (within a minute, once) with the verifier whose SHA-256 was the challenge.",
        body: SsoExchangeRequestSchema,
        response: { 200: LoginResponseSchema, ...errors },
      },
    }, async (request, reply) => {
      const issued = await sso.exchange({ code: request.body.code, verifier: request.body.verifier, ...signInClientOf(request) });
      return sendSession(reply, issued, "token");
    });
  };
}
