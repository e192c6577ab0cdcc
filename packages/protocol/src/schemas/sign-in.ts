/**
 * @module sign-in
 * Sessions and sign-in (issue 14): `POST /api/auth/login` for people (password, then a second factor when
 * enrolled) and agents (an Ed25519 signature over a one-time challenge), `refresh` with rotating refresh tokens,
 * `logout`, `validate` (who am I), the session list, and the security log.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";
import { ScopeSchema } from "./tokens.js";
import { PasswordSchema } from "./users.js";

/** A person's sign-in: username and password, with a second factor when one is enrolled. */
export const PasswordLoginRequestSchema = z.strictObject({
  username: z.string().min(1).max(128),
  password: z.string().min(1).max(256),
  /** A 6-digit TOTP code. */
  code: z.string().regex(/^\d{6}$/, "must be 6 digits").optional(),
  /** One of the user's recovery codes (used once). */
  recoveryCode: z.string().min(8).max(64).optional(),
  /** A passkey assertion as the second factor: the challenge from `POST /api/auth/passkey/options` and the browser's response. */
  passkey: z.strictObject({ challengeId: z.string().min(1).max(128), response: z.record(z.string(), z.unknown()) }).optional(),
  /** Required when the password is a one-time one (`password_change_required`): the password to use from now on. */
  newPassword: PasswordSchema.optional(),
  /** `cookie`: the session is set as an HttpOnly cookie (browsers); `token` (default): tokens in the body (CLI, SDK). */
  mode: z.enum(["token", "cookie"]).default("token"),
});
export type PasswordLoginRequest = z.output<typeof PasswordLoginRequestSchema>;

/** An agent's sign-in: the challenge it asked for, signed with the key of its DID. */
export const AgentLoginRequestSchema = z.strictObject({
  did: z.string().min(1).max(256),
  challengeId: z.string().min(1).max(128),
  /** Ed25519 signature over the challenge's `message` bytes (UTF-8), base64url. */
  signature: z.string().min(1).max(256),
  mode: z.enum(["token"]).default("token"),
});
export type AgentLoginRequest = z.output<typeof AgentLoginRequestSchema>;

export const LoginRequestSchema = z.union([PasswordLoginRequestSchema, AgentLoginRequestSchema]);
export type LoginRequestInput = z.input<typeof LoginRequestSchema>;
export type LoginRequest = z.output<typeof LoginRequestSchema>;

/** The session as its holder sees it. */
export const SessionSchema = z.object({
  id: z.string(),
  userId: z.string(),
  username: z.string(),
  method: z.enum(["password", "passkey", "sso", "agent_key"]),
  mfa: z.boolean(),
  createdAt: TimestampSchema,
  lastUsedAt: TimestampSchema,
  expiresAt: TimestampSchema,
  revokedAt: TimestampSchema.nullable(),
  revokedReason: z.string().nullable(),
  userAgent: z.string().nullable(),
  address: z.string().nullable(),
  /** True for the session the caller is using. */
  current: z.boolean(),
});
export type Session = z.infer<typeof SessionSchema>;

/**
 * A successful sign-in or refresh. In token mode both tokens are in the body (shown once); in cookie mode they are
 * HttpOnly cookies and the body carries only `csrfToken`, to be sent back in `X-CSRF-Token` on every write.
 */
export const LoginResponseSchema = z.object({
  accessToken: z.string().optional(),
  refreshToken: z.string().optional(),
  csrfToken: z.string().optional(),
  tokenType: z.literal("Bearer"),
  /** Access token lifetime, seconds. */
  expiresIn: z.number().int(),
  accessExpiresAt: TimestampSchema,
  /** When the session ends for good (its absolute limit). */
  sessionExpiresAt: TimestampSchema,
  sessionId: z.string(),
  user: z.object({ id: z.string(), username: z.string(), kind: z.enum(["person", "agent"]), roles: z.array(z.string()) }),
  scopes: z.array(ScopeSchema),
});
export type LoginResponse = z.infer<typeof LoginResponseSchema>;

/** Refresh: the refresh token in the body (token mode) or in its cookie (cookie mode, body may be empty). */
export const RefreshRequestSchema = z.strictObject({
  refreshToken: z.string().min(1).max(512).optional(),
});
export type RefreshRequest = z.infer<typeof RefreshRequestSchema>;

export const LogoutRequestSchema = z.strictObject({
  refreshToken: z.string().min(1).max(512).optional(),
});
export type LogoutRequest = z.infer<typeof LogoutRequestSchema>;

/** `GET /api/auth/validate`: who the caller is, what they may do, until when. */
export const ValidateResponseSchema = z.object({
  owner: z.string(),
  tokenId: z.string(),
  scopes: z.array(ScopeSchema),
  expiresAt: TimestampSchema,
  /** Present when the caller is a user (a session's access token or a personal API token). */
  user: z.object({ id: z.string(), username: z.string(), kind: z.enum(["person", "agent"]), roles: z.array(z.string()) }).optional(),
  sessionId: z.string().optional(),
  /** How the caller authenticated: `token` (an API token), `session` (bearer access token), `cookie`. */
  via: z.enum(["token", "session", "cookie"]),
});
export type ValidateResponse = z.infer<typeof ValidateResponseSchema>;

export const ListSessionsResponseSchema = z.object({ sessions: z.array(SessionSchema) });
export type ListSessionsResponse = z.infer<typeof ListSessionsResponseSchema>;

/** `POST /api/auth/challenge`: an agent asks for a one-time challenge for its DID. */
export const ChallengeRequestSchema = z.strictObject({ did: z.string().min(1).max(256) });
export type ChallengeRequest = z.infer<typeof ChallengeRequestSchema>;

export const ChallengeResponseSchema = z.object({
  challengeId: z.string(),
  /** The exact text to sign (UTF-8 bytes), binding node, DID, nonce and expiry. */
  message: z.string(),
  expiresAt: TimestampSchema,
});
export type ChallengeResponse = z.infer<typeof ChallengeResponseSchema>;

export const SecurityEventSchema = z.object({
  seq: z.number().int(),
  at: TimestampSchema,
  type: z.string(),
  outcome: z.enum(["success", "failure"]),
  userId: z.string().nullable(),
  username: z.string().nullable(),
  actor: z.string().nullable(),
  address: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type SecurityEvent = z.infer<typeof SecurityEventSchema>;

export const ListSecurityEventsResponseSchema = z.object({ events: z.array(SecurityEventSchema), nextBefore: z.number().int().nullable() });
export type ListSecurityEventsResponse = z.infer<typeof ListSecurityEventsResponseSchema>;
