/**
 * @module config/sso-config
 * Settings of single sign-on (issue 14): OpenID Connect providers, their client secret's vault name, claim → role maps.
 * Each provider is a generic OpenID Connect issuer (discovery, authorization code + PKCE); nothing here is specific
 * to one vendor. The client secret is never in the file: it names a vault secret (or, for development, an
 * environment variable) that is read when a sign-in needs it.
 */
import { z } from "zod";
import { RoleNameSchema } from "@kai/protocol";

/** Loopback hosts, the only ones an `http:` issuer may use (a provider on the same machine: tests, development). */
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** True when the URL may be fetched over plain HTTP: only on this machine. Everything else must be https. */
export function isLoopbackUrl(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname) || url.hostname.endsWith(".localhost");
}

const HttpsUrlSchema = z.url().refine((value) => {
  const url = new URL(value);
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackUrl(url));
}, "must be an https URL (http only on a loopback address)");

/** Where the client secret lives: a vault secret name (recommended), or an environment variable. Exactly one. */
export const SsoClientSecretSchema = z
  .strictObject({
    vault: z.string().min(1).max(256).optional(),
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name").optional(),
  })
  .refine((value) => (value.vault === undefined) !== (value.env === undefined), "give exactly one of vault or env");

/** A claim path: a top-level claim, or a dotted path into nested objects (`realm_access.roles`). */
const ClaimPathSchema = z.string().min(1).max(200).regex(/^[^.\s]+(\.[^.\s]+)*$/, "a claim name or a dotted path");

export const SsoProviderSchema = z.strictObject({
  /** Appears in the routes (`/api/auth/sso/{id}/…`) and in linked users' subjects (`<id>|<sub>`): never change it. */
  id: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, "lowercase letters, digits and -, at most 32"),
  /** The button text of the sign-in page. */
  displayName: z.string().min(1).max(100),
  /** The issuer identifier; `<issuer>/.well-known/openid-configuration` is read on first use. */
  issuer: HttpsUrlSchema,
  clientId: z.string().min(1).max(256),
  clientSecret: SsoClientSecretSchema,
  /** How the client authenticates at the token endpoint (basic is the one every provider must support). */
  tokenEndpointAuthMethod: z.enum(["client_secret_basic", "client_secret_post"]).default("client_secret_basic"),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "an OAuth scope token"))
    .min(1)
    .max(32)
    .refine((scopes) => scopes.includes("openid"), "must include openid")
    .default(["openid", "profile", "email"]),
  /**
   * The callback URL registered at the provider. Default: `<auth.sso.publicUrl>/api/auth/sso/<id>/callback`, or
   * with the scheme and host of the request that started the sign-in when no public URL is set.
   */
  redirectUri: HttpsUrlSchema.optional(),
  claims: z
    .strictObject({
      /** The claim that becomes the username of a user created at first sign-in. */
      username: ClaimPathSchema.default("preferred_username"),
      displayName: ClaimPathSchema.default("name"),
      email: ClaimPathSchema.default("email"),
      /** The claim holding the user's groups or roles (a string or a list of strings), e.g. `groups`. None: only `defaultRoles`. */
      roles: ClaimPathSchema.optional(),
    })
    .prefault({}),
  /** Claim value (a group, a provider role) → one of our roles, or several. Values not listed give nothing. */
  roleMap: z.record(z.string().min(1).max(256), z.union([RoleNameSchema, z.array(RoleNameSchema).max(32)])).default({}),
  /** Roles every user of this provider gets, whatever the claims say. */
  defaultRoles: z.array(RoleNameSchema).max(32).default([]),
  /** Create a user at their first sign-in; false: only users an admin linked beforehand may sign in. */
  autoCreate: z.boolean().default(true),
  /** Only users whose (verified) email is in one of these domains may sign in. Absent: any. */
  allowedDomains: z.array(z.string().min(1).max(253).regex(/^[a-z0-9.-]+$/i, "a domain name")).min(1).optional(),
});
export type SsoProvider = z.output<typeof SsoProviderSchema>;

export const SsoConfigSchema = z.strictObject({
  /**
   * The node's address as browsers reach it (`https://kai.example.com`), from which callback URLs are made. Set it
   * behind a proxy; without it, the scheme and host of the request that starts a sign-in are used.
   */
  publicUrl: HttpsUrlSchema.optional(),
  /** How long a started sign-in may take at the provider before its state expires, seconds. */
  stateTtlSeconds: z.int().min(30).max(3600).default(600),
  providers: z
    .array(SsoProviderSchema)
    .max(32)
    .default([])
    .refine((providers) => new Set(providers.map((p) => p.id)).size === providers.length, "provider ids must be unique"),
});
export type SsoConfig = z.output<typeof SsoConfigSchema>;
