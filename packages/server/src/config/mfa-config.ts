/**
 * @module config/mfa-config
 * Settings of second factors (issue 14): TOTP, passkeys (WebAuthn), which roles must use one.
 * TOTP itself is fixed at what every authenticator app understands (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step,
 * 160-bit secrets), so only its label is configurable. WebAuthn's relying party defaults from `server.host` and
 * `server.port` (auth/mfa/webauthn-settings.ts); a node reached under another name or through a proxy sets them.
 */
import { z } from "zod";

export const MfaConfigSchema = z.strictObject({
  /**
   * Roles whose users must have a second factor. Such a user without one signs in to a session limited to
   * enrolling one (docs/security.md, "Second factors").
   */
  requiredRoles: z.array(z.string().min(1).max(64)).max(64).default([]),
  totp: z
    .strictObject({
      /** The issuer shown in authenticator apps (`otpauth://totp/<issuer>:<username>`). */
      issuer: z.string().min(1).max(64).default("kAI"),
    })
    .prefault({}),
  webauthn: z
    .strictObject({
      /** The relying party id: the site's domain. Default: `server.host`, or `localhost` when that is an IP address. */
      rpId: z.string().min(1).max(253).optional(),
      /** The name authenticators show. */
      rpName: z.string().min(1).max(64).default("kAI Service Stack"),
      /** The origins browsers sign in from (`https://kai.example.com`). Default: `http(s)://<rpId>:<server.port>`. */
      origins: z.array(z.url()).min(1).max(16).optional(),
      /** How long a registration or sign-in challenge can be answered, seconds. */
      challengeTtlSeconds: z.int().min(30).max(900).default(300),
    })
    .prefault({}),
});
export type MfaConfig = z.output<typeof MfaConfigSchema>;
