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

/** `start`: where to land after signing in (a path on this server, never another site). */
export const SsoStartQuerySchema = z.object({
  return: z.string().max(2048).optional(),
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
