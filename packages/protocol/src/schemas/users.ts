/**
 * @module users
 * Users (people and agents), roles and the user's own profile: the shapes of `/api/users`, `/api/users/me` and
 * `/api/roles` (issue 14). A role is a named set of scopes; a user's tokens never carry more than their roles allow.
 */
import { z } from "zod";
import { IdentifierSchema, TimestampSchema } from "./common.js";
import { ScopeSchema } from "./tokens.js";
import { DID_PATTERN } from "../klp/did.js";

/** The roles every node has; their scopes are fixed in code (docs/security.md lists them). */
export const BUILT_IN_ROLES = ["admin", "operator", "developer", "viewer"] as const;

/** Role names: lowercase letters, digits, `-` and `_`. */
export const RoleNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z][a-z0-9_-]*$/, "must start with a lowercase letter and use only a-z, 0-9, - and _");

/** Usernames: people's names and agents' `kClass:name` ids alike (printable, URL-safe, bounded). */
export const UsernameSchema = IdentifierSchema;

/** A password as typed: at least 12 characters (OWASP), at most 256 (argon2 accepts more, but no person types that). */
export const PasswordSchema = z.string().min(12, "must be at least 12 characters").max(256);

export const UserKindSchema = z.enum(["person", "agent"]);
export const UserStateSchema = z.enum(["active", "disabled"]);

/** Preferences a user keeps for themselves (the web app reads them). Unknown keys are refused. */
export const UserPreferencesSchema = z.strictObject({
  theme: z.enum(["system", "light", "dark"]).optional(),
  language: z.string().max(16).optional(),
  timezone: z.string().max(64).optional(),
});
export type UserPreferences = z.infer<typeof UserPreferencesSchema>;

export const UserSchema = z.object({
  id: z.string(),
  username: z.string(),
  kind: UserKindSchema,
  displayName: z.string().nullable(),
  state: UserStateSchema,
  roles: z.array(z.string()),
  /** The scopes the roles give, resolved (what the user's sessions and tokens may hold at most). */
  scopes: z.array(ScopeSchema),
  /** An agent's KLP DID (`kind:did:<base64url Ed25519 key>#ed25519`), with which it signs in. */
  did: z.string().nullable(),
  /** Which sign-in methods the user has: password, totp, passkey, sso. */
  methods: z.array(z.enum(["password", "totp", "passkey", "recovery_codes", "sso", "agent_key"])),
  mustChangePassword: z.boolean(),
  preferences: UserPreferencesSchema,
  createdAt: TimestampSchema,
  updatedAt: TimestampSchema,
  lastSignInAt: TimestampSchema.nullable(),
});
export type User = z.infer<typeof UserSchema>;

export const CreateUserRequestSchema = z.strictObject({
  username: UsernameSchema,
  kind: UserKindSchema.default("person"),
  displayName: z.string().max(200).optional(),
  /** People: an initial password (they may be asked to change it); absent = SSO or passkey only. */
  password: PasswordSchema.optional(),
  /** When true the first sign-in must choose a new password (an admin handing out a temporary one). */
  mustChangePassword: z.boolean().optional(),
  /** Agents: the KLP DID (`kind:did:…#ed25519`, the key itself) they sign in with. */
  did: z.string().regex(DID_PATTERN, "must be a KLP DID: kind:did:<base64url Ed25519 public key>#ed25519").optional(),
  roles: z.array(RoleNameSchema).max(32).default([]),
});
export type CreateUserRequestInput = z.input<typeof CreateUserRequestSchema>;
export type CreateUserRequest = z.output<typeof CreateUserRequestSchema>;

/** Admin changes to a user: roles, state, display name, a password reset. */
export const UpdateUserRequestSchema = z.strictObject({
  displayName: z.string().max(200).nullable().optional(),
  roles: z.array(RoleNameSchema).max(32).optional(),
  state: UserStateSchema.optional(),
  /** A new password set by an admin; the user's sessions end and (by default) they must change it at sign-in. */
  password: PasswordSchema.optional(),
  mustChangePassword: z.boolean().optional(),
});
export type UpdateUserRequest = z.infer<typeof UpdateUserRequestSchema>;

export const ListUsersResponseSchema = z.object({ users: z.array(UserSchema), nextCursor: z.string().nullable() });
export type ListUsersResponse = z.infer<typeof ListUsersResponseSchema>;

/** What a user may change about themselves. */
export const UpdateProfileRequestSchema = z.strictObject({
  displayName: z.string().max(200).nullable().optional(),
  preferences: UserPreferencesSchema.optional(),
});
export type UpdateProfileRequest = z.infer<typeof UpdateProfileRequestSchema>;

export const ChangePasswordRequestSchema = z.strictObject({
  currentPassword: z.string().min(1).max(256),
  newPassword: PasswordSchema,
});
export type ChangePasswordRequest = z.infer<typeof ChangePasswordRequestSchema>;

export const RoleSchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  scopes: z.array(ScopeSchema),
  builtIn: z.boolean(),
});
export type Role = z.infer<typeof RoleSchema>;

export const PutRoleRequestSchema = z.strictObject({
  description: z.string().max(500).nullable().optional(),
  scopes: z.array(ScopeSchema).min(1).max(32),
});
export type PutRoleRequest = z.infer<typeof PutRoleRequestSchema>;

export const ListRolesResponseSchema = z.object({ roles: z.array(RoleSchema) });
export type ListRolesResponse = z.infer<typeof ListRolesResponseSchema>;
