/**
 * @module auth/users/new-user-row
 * The row of a new user, for every place that makes one (an admin's create, the first admin, single sign-on's first
 * sign-in): one place decides what a new user starts with (active, no factors, no preferences, a fresh id), so the
 * three cannot drift apart when the row gains a field.
 */
import { randomUUID } from "node:crypto";
import type { UserRow } from "../../storage/contracts/identity-store.js";

/** What differs between new users; everything else starts empty. */
export type NewUser = Pick<UserRow, "username" | "kind"> & Partial<Pick<UserRow, "displayName" | "passwordHash" | "did" | "ssoSubject" | "roles" | "mustChangePassword">>;

/** A new, active user created at `at` (ISO-8601); a password, when given, counts as set then. */
export function newUserRow(user: NewUser, at: string): UserRow {
  const passwordHash = user.passwordHash ?? null;
  return {
    id: randomUUID(),
    username: user.username,
    kind: user.kind,
    displayName: user.displayName ?? null,
    passwordHash,
    did: user.did ?? null,
    ssoSubject: user.ssoSubject ?? null,
    state: "active",
    roles: [...new Set(user.roles ?? [])],
    mustChangePassword: passwordHash !== null && (user.mustChangePassword ?? false),
    preferences: {},
    createdAt: at,
    updatedAt: at,
    passwordChangedAt: passwordHash !== null ? at : null,
    lastSignInAt: null,
  };
}
