/**
 * @module http/session-reply
 * How a started or refreshed session is answered, the same for every way of signing in (password, agent key,
 * passkey, single sign-on): in `token` mode both tokens are in the body (CLI, SDK); in `cookie` mode they are
 * HttpOnly, SameSite=Lax cookies (browsers) and the body carries only the CSRF token. Cookies are Secure with the
 * `__Host-` prefix when the request came over HTTPS (or `auth.signIn.secureCookies: always`): a plain-HTTP
 * development node still works in a browser, a deployed one gets the strict form. Also what every sign-in route
 * reads of the request alike: whether its cookies are Secure, and who is signing in.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { LoginResponse } from "@kai/protocol";
import type { IssuedSession, SignInClient } from "../auth/sign-in-ports.js";

declare module "fastify" {
  interface FastifyInstance {
    /** `auth.signIn.secureCookies` (set by app.ts). */
    secureCookies: "auto" | "always";
  }
}

export type SessionMode = "token" | "cookie";

/** Names of the session cookies, with and without the `__Host-` prefix (which requires Secure and Path=/). */
export const SESSION_COOKIES = {
  secure: { access: "__Host-kai_access", refresh: "__Host-kai_refresh" },
  plain: { access: "kai_access", refresh: "kai_refresh" },
} as const;

/** The header a cookie-authenticated write must carry the CSRF token in. */
export const CSRF_HEADER = "x-csrf-token";

/** Whether cookies set for this request are Secure (the session cookies, single sign-on's binding cookie). */
export function secureRequest(request: FastifyRequest): boolean {
  return request.server.secureCookies === "always" || request.protocol === "https";
}

/** Who is signing in, as the request shows it (every sign-in route records it with the session or the failure). */
export function signInClientOf(request: FastifyRequest): SignInClient {
  return { address: request.ip, userAgent: request.headers["user-agent"]?.slice(0, 512) ?? null };
}

/** The access or refresh cookie of the request (the `__Host-` one first). */
export function sessionCookie(request: FastifyRequest, which: "access" | "refresh"): string | undefined {
  const cookies = request.cookies as Record<string, string | undefined> | undefined;
  if (!cookies) return undefined;
  return cookies[SESSION_COOKIES.secure[which]] ?? cookies[SESSION_COOKIES.plain[which]];
}

/** The body of a sign-in or refresh answer. */
export function loginResponse(issued: IssuedSession, mode: SessionMode): LoginResponse {
  return {
    ...(mode === "token" ? { accessToken: issued.accessToken, refreshToken: issued.refreshToken } : {}),
    csrfToken: issued.csrfToken,
    tokenType: "Bearer",
    expiresIn: Math.max(0, Math.round((issued.accessExpiresAt - Date.now()) / 1000)),
    accessExpiresAt: new Date(issued.accessExpiresAt).toISOString(),
    sessionExpiresAt: new Date(issued.sessionExpiresAt).toISOString(),
    sessionId: issued.sessionId,
    user: issued.user,
    scopes: issued.scopes,
  };
}

/** Sets the session's cookies on the reply without sending it (single sign-on's callback redirects afterwards). */
export function setSessionCookies(reply: FastifyReply, issued: IssuedSession): void {
  const secure = secureRequest(reply.request);
  const names = secure ? SESSION_COOKIES.secure : SESSION_COOKIES.plain;
  const base = { httpOnly: true, sameSite: "lax" as const, secure, path: "/" };
  const now = Date.now();
  reply.setCookie(names.access, issued.accessToken, { ...base, maxAge: Math.max(1, Math.floor((issued.accessExpiresAt - now) / 1000)) });
  reply.setCookie(names.refresh, issued.refreshToken, { ...base, maxAge: Math.max(1, Math.floor((issued.sessionExpiresAt - now) / 1000)) });
  reply.header("Cache-Control", "no-store");
}

/** Answers a session: sets the cookies in cookie mode; never cached. */
export function sendSession(reply: FastifyReply, issued: IssuedSession, mode: SessionMode): FastifyReply {
  if (mode === "cookie") setSessionCookies(reply, issued);
  return reply.header("Cache-Control", "no-store").send(loginResponse(issued, mode));
}

/** Clears the session cookies (sign-out, a refused refresh). */
export function clearSessionCookies(reply: FastifyReply): void {
  const secure = secureRequest(reply.request);
  const names = secure ? SESSION_COOKIES.secure : SESSION_COOKIES.plain;
  for (const name of [names.access, names.refresh]) reply.clearCookie(name, { httpOnly: true, sameSite: "lax", secure, path: "/" });
}
