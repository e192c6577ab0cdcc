/**
 * @module storage/rows/identity-rows
 * The identity tables' rows (SQLite migration 7, PostgreSQL migration 3) and their conversion to and from the
 * contract's rows, shared by both databases: the same columns hold the same text. Lists and objects are stored
 * as JSON text and parsed back with a schema; a row that does not parse fails closed (an error, never a user
 * with roles or a session nobody can read). Booleans are written as `true`/`false` and read back from either
 * SQLite's 0/1 or PostgreSQL's booleans; PostgreSQL's bigint columns arrive as strings and become numbers here.
 */
import { z } from "zod";
import { parseJson } from "@kai/protocol";
import type {
  ChallengeKind,
  ChallengeRow,
  PasskeyRow,
  RoleRow,
  SecurityEventRow,
  SessionMethod,
  SessionRow,
  TotpRow,
  UserKind,
  UserRow,
  UserState,
} from "../contracts/identity-store.js";
import { foldName } from "./identity-rules.js";

/** A value as a driver binds or returns it. */
export type DbValue = string | number | boolean | null;

const StringsSchema = z.array(z.string());
const ObjectSchema = z.record(z.string(), z.unknown());

function decode<T>(text: string, schema: z.ZodType<T>, what: string): T {
  const json = parseJson(text);
  const parsed = schema.safeParse(json.ok ? json.value : undefined);
  if (!parsed.success) throw new Error(`stored ${what} cannot be read`);
  return parsed.data;
}

const bool = (value: unknown): boolean => value === true || value === 1 || value === "1" || value === "t";
const num = (value: unknown): number => Number(value);

// ---- users ----

/** Columns of `users`, in the order `userValues` gives them; `username_key` is the folded username (unique). */
export const USER_COLUMNS = [
  "id",
  "username",
  "username_key",
  "kind",
  "display_name",
  "password_hash",
  "did",
  "sso_subject",
  "state",
  "roles",
  "must_change_password",
  "preferences",
  "created_at",
  "updated_at",
  "password_changed_at",
  "last_sign_in_at",
] as const;

export type UserDbRow = Record<(typeof USER_COLUMNS)[number], unknown>;

export function userValues(user: UserRow): DbValue[] {
  return [
    user.id,
    user.username,
    foldName(user.username),
    user.kind,
    user.displayName,
    user.passwordHash,
    user.did,
    user.ssoSubject,
    user.state,
    JSON.stringify(user.roles),
    user.mustChangePassword,
    JSON.stringify(user.preferences),
    user.createdAt,
    user.updatedAt,
    user.passwordChangedAt,
    user.lastSignInAt,
  ];
}

export function toUserRow(row: UserDbRow): UserRow {
  const id = String(row.id);
  return {
    id,
    username: String(row.username),
    kind: String(row.kind) as UserKind,
    displayName: row.display_name as string | null,
    passwordHash: row.password_hash as string | null,
    did: row.did as string | null,
    ssoSubject: row.sso_subject as string | null,
    state: String(row.state) as UserState,
    roles: decode(String(row.roles), StringsSchema, `roles of user ${id}`),
    mustChangePassword: bool(row.must_change_password),
    preferences: decode(String(row.preferences), ObjectSchema, `preferences of user ${id}`),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
    passwordChangedAt: row.password_changed_at as string | null,
    lastSignInAt: row.last_sign_in_at as string | null,
  };
}

// ---- roles ----

/** Columns of `roles`; `name_key` is the folded name (unique). */
export const ROLE_COLUMNS = ["name", "name_key", "description", "scopes", "created_at", "updated_at"] as const;

export type RoleDbRow = Record<(typeof ROLE_COLUMNS)[number], unknown>;

export function roleValues(role: RoleRow): DbValue[] {
  return [role.name, foldName(role.name), role.description, JSON.stringify(role.scopes), role.createdAt, role.updatedAt];
}

export function toRoleRow(row: RoleDbRow): RoleRow {
  const name = String(row.name);
  return {
    name,
    description: row.description as string | null,
    scopes: decode(String(row.scopes), StringsSchema, `scopes of role ${name}`),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

// ---- sessions ----

export const SESSION_COLUMNS = [
  "id",
  "user_id",
  "method",
  "mfa",
  "refresh_hash",
  "previous_refresh_hash",
  "rotated_at",
  "generation",
  "created_at",
  "last_used_at",
  "idle_expires_at",
  "expires_at",
  "revoked_at",
  "revoked_reason",
  "user_agent",
  "address",
] as const;

export type SessionDbRow = Record<(typeof SESSION_COLUMNS)[number], unknown>;

export function sessionValues(session: SessionRow): DbValue[] {
  return [
    session.id,
    session.userId,
    session.method,
    session.mfa,
    session.refreshHash,
    session.previousRefreshHash,
    session.rotatedAt,
    session.generation,
    session.createdAt,
    session.lastUsedAt,
    session.idleExpiresAt,
    session.expiresAt,
    session.revokedAt,
    session.revokedReason,
    session.userAgent,
    session.address,
  ];
}

export function toSessionRow(row: SessionDbRow): SessionRow {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    method: String(row.method) as SessionMethod,
    mfa: bool(row.mfa),
    refreshHash: String(row.refresh_hash),
    previousRefreshHash: row.previous_refresh_hash as string | null,
    rotatedAt: String(row.rotated_at),
    generation: num(row.generation),
    createdAt: String(row.created_at),
    lastUsedAt: String(row.last_used_at),
    idleExpiresAt: String(row.idle_expires_at),
    expiresAt: String(row.expires_at),
    revokedAt: row.revoked_at as string | null,
    revokedReason: row.revoked_reason as string | null,
    userAgent: row.user_agent as string | null,
    address: row.address as string | null,
  };
}

// ---- TOTP, passkeys, challenges ----

export const TOTP_COLUMNS = ["user_id", "sealed_secret", "confirmed", "last_step", "created_at"] as const;

export type TotpDbRow = Record<(typeof TOTP_COLUMNS)[number], unknown>;

export function totpValues(row: TotpRow): DbValue[] {
  return [row.userId, row.sealedSecret, row.confirmed, row.lastStep, row.createdAt];
}

export function toTotpRow(row: TotpDbRow): TotpRow {
  return {
    userId: String(row.user_id),
    sealedSecret: String(row.sealed_secret),
    confirmed: bool(row.confirmed),
    lastStep: num(row.last_step),
    createdAt: String(row.created_at),
  };
}

export const PASSKEY_COLUMNS = ["id", "user_id", "public_key", "counter", "transports", "name", "backed_up", "created_at", "last_used_at"] as const;

export type PasskeyDbRow = Record<(typeof PASSKEY_COLUMNS)[number], unknown>;

export function passkeyValues(row: PasskeyRow): DbValue[] {
  return [row.id, row.userId, row.publicKey, row.counter, JSON.stringify(row.transports), row.name, row.backedUp, row.createdAt, row.lastUsedAt];
}

export function toPasskeyRow(row: PasskeyDbRow): PasskeyRow {
  const id = String(row.id);
  return {
    id,
    userId: String(row.user_id),
    publicKey: String(row.public_key),
    counter: num(row.counter),
    transports: decode(String(row.transports), StringsSchema, `transports of passkey ${id}`),
    name: row.name as string | null,
    backedUp: bool(row.backed_up),
    createdAt: String(row.created_at),
    lastUsedAt: row.last_used_at as string | null,
  };
}

export const CHALLENGE_COLUMNS = ["id", "kind", "subject", "data", "expires_at", "created_at"] as const;

export type ChallengeDbRow = Record<(typeof CHALLENGE_COLUMNS)[number], unknown>;

export function challengeValues(row: ChallengeRow): DbValue[] {
  return [row.id, row.kind, row.subject, row.data, row.expiresAt, row.createdAt];
}

export function toChallengeRow(row: ChallengeDbRow): ChallengeRow {
  return {
    id: String(row.id),
    kind: String(row.kind) as ChallengeKind,
    subject: row.subject as string | null,
    data: String(row.data),
    expiresAt: String(row.expires_at),
    createdAt: String(row.created_at),
  };
}

// ---- security log ----

/** Columns of `security_events` a write gives (`seq` is the database's). */
export const SECURITY_EVENT_COLUMNS = ["at", "type", "outcome", "user_id", "username", "actor", "address", "details"] as const;

export type SecurityEventDbRow = Record<(typeof SECURITY_EVENT_COLUMNS)[number] | "seq", unknown>;

export function securityEventValues(event: Omit<SecurityEventRow, "seq">): DbValue[] {
  return [event.at, event.type, event.outcome, event.userId, event.username, event.actor, event.address, JSON.stringify(event.details)];
}

export function toSecurityEventRow(row: SecurityEventDbRow): SecurityEventRow {
  const seq = num(row.seq);
  return {
    seq,
    at: String(row.at),
    type: String(row.type),
    outcome: String(row.outcome) as SecurityEventRow["outcome"],
    userId: row.user_id as string | null,
    username: row.username as string | null,
    actor: row.actor as string | null,
    address: row.address as string | null,
    details: decode(String(row.details), ObjectSchema, `details of security event ${seq}`),
  };
}
