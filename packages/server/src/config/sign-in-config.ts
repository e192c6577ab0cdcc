/**
 * @module config/sign-in-config
 * Settings of users and sessions (issue 14): password hashing cost, session lifetimes, cookies, the first admin.
 * Defaults follow the reference table (OWASP argon2id, short access tokens, rotating refresh tokens).
 */
import { z } from "zod";

export const SignInConfigSchema = z.strictObject({
  /** argon2id cost (OWASP: 19 MiB, t=2, p=1). Existing hashes with another cost are rehashed at the next sign-in. */
  password: z
    .strictObject({
      memoryKiB: z.int().min(1024).max(1024 * 1024).default(19_456),
      iterations: z.int().min(1).max(20).default(2),
      parallelism: z.int().min(1).max(16).default(1),
    })
    .prefault({}),
  /** Lifetime of a session's access token, seconds (short: a revoked session's tokens are refused at once anyway). */
  accessTtlSeconds: z.int().min(60).max(86_400).default(900),
  /** A session ends when its refresh token is not used for this long, seconds. */
  sessionIdleSeconds: z.int().min(300).default(86_400),
  /** A session ends this long after sign-in whatever happens, seconds. */
  sessionMaxSeconds: z.int().min(600).default(7 * 86_400),
  /** A retry with the refresh token just replaced is accepted within this many seconds (a lost response); later it revokes the session. */
  refreshGraceSeconds: z.int().min(0).max(60).default(10),
  /** Cookies' Secure flag (and the `__Host-` prefix): `auto` = when the request came over HTTPS. */
  secureCookies: z.enum(["auto", "always"]).default("auto"),
  /** The first start with no users creates this admin with a one-time password in `<dataDir>/first-admin.password`. */
  firstAdmin: z
    .strictObject({
      enabled: z.boolean().default(true),
      username: z.string().min(1).max(64).default("admin"),
    })
    .prefault({}),
});
export type SignInConfig = z.infer<typeof SignInConfigSchema>;
