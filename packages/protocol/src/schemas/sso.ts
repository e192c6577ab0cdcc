/**
 * @module sso
 * Single sign-on (issue 14): the shapes of `GET /api/auth/sso/providers` and the query strings of
 * `GET /api/auth/sso/{provider}/start` and `…/callback` (OpenID Connect, authorization code + PKCE).
 */
import { z } from "zod";

/** A provider as the sign-in page shows it: nothing about its issuer, client or secret. */
export const SsoProviderInfoSchema = z.object({
  id: z.string(),
  displayName: z.string(),
});
export type SsoProviderInfo = z.infer<typeof SsoProviderInfoSchema>;

export const ListSsoProvidersResponseSchema = z.object({ providers: z.array(SsoProviderInfoSchema) });
export type ListSsoProvidersResponse = z.infer<typeof ListSsoProvidersResponseSchema>;

/**
 * `start`. Browsers: `return`, where to land after signing in (a path on this server, never another site). The CLI
 * (`mode=token`): `redirect`, its loopback address (RFC 8252: `http://127.0.0.1:<port>/…`) that receives a one-time
 * exchange code, and `challenge`, the base64url SHA-256 of a secret verifier only the CLI knows, which it presents
 * with the code to `POST /api/auth/sso/exchange` (so another program on the machine that sees the code cannot use it).
 */
export const SsoStartQuerySchema = z.object({
  return: z.string().max(2048).optional(),
  mode: z.enum(["cookie", "token"]).default("cookie"),
  redirect: z.string().max(2048).optional(),
  challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "the base64url SHA-256 of the verifier").optional(),
});
export type SsoStartQuery = z.infer<typeof SsoStartQuerySchema>;

/** `callback`: the provider's authorization response (RFC 6749 §4.1.2, RFC 9207 `iss`); other parameters pass through. */
export const SsoCallbackQuerySchema = z.looseObject({
  code: z.string().max(4096).optional(),
  state: z.string().max(512).optional(),
  iss: z.string().max(2048).optional(),
  error: z.string().max(256).optional(),
  error_description: z.string().max(2048).optional(),
});
export type SsoCallbackQuery = z.infer<typeof SsoCallbackQuerySchema>;

/** `POST /api/auth/sso/exchange`: the CLI trades the one-time code its loopback address received for tokens. */
export const SsoExchangeRequestSchema = z.strictObject({
  code: z.string().min(1).max(256),
  /** The verifier whose SHA-256 was the `challenge` at start (43–128 characters, RFC 7636 alphabet). */
  verifier: z.string().regex(/^[A-Za-z0-9._~-]{43,128}$/, "43 to 128 characters of A-Z a-z 0-9 . _ ~ -"),
});
export type SsoExchangeRequest = z.infer<typeof SsoExchangeRequestSchema>;
