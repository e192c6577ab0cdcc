/**
 * @module storage/rows/identity-rules
 * The decisions of the identity store that every backend makes the same way, in one place: how usernames and
 * role names compare (case-insensitively), when a session is live or has ended, and what a presented refresh
 * token means (`applyRotation`). The databases run `applyRotation` on the session row they locked inside the
 * transaction that then writes its result, so the verdict and the rotation (or the revocation for a reuse) are
 * one atomic step (the contract's rule; RFC 9700 §4.14.2).
 */
import type { RotateRefresh, SessionRow, UserPatch, UserRow } from "../contracts/identity-store.js";

/** The key usernames and role names are unique by: `Alice` and `alice` are one user. */
export function foldName(name: string): string {
  return name.toLowerCase();
}

/** `current` with `patch` applied: keys the patch leaves undefined keep their value; `id` and `createdAt` never change. */
export function mergeUser(current: UserRow, patch: UserPatch): UserRow {
  const next: UserRow = { ...current };
  for (const [key, value] of Object.entries(patch)) if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value;
  next.id = current.id;
  next.createdAt = current.createdAt;
  return next;
}

/** Unrevoked and within both its idle and its absolute limit at `now` (ISO-8601 strings compare in time order). */
export function sessionLive(session: SessionRow, now: string): boolean {
  return session.revokedAt === null && session.idleExpiresAt > now && session.expiresAt > now;
}

/** Ended (revoked or expired) before `before`: what `pruneSessions` deletes. */
export function sessionEnded(session: SessionRow, before: string): boolean {
  return (session.revokedAt !== null && session.revokedAt < before) || session.idleExpiresAt < before || session.expiresAt < before;
}

export type RotationVerdict =
  | { outcome: "unknown" }
  | { outcome: "rotated" | "reused" | "revoked" | "expired"; session: SessionRow; changed: boolean };

/**
 * What the presented refresh token means for `session` and the session as it must be stored after it
 * (`changed`: write it back). In order:
 * - a hash that is neither the current nor the previous token → `unknown` (nothing is revealed about the session);
 * - the session was revoked → `revoked`; past its idle or absolute limit → `expired`;
 * - the current token → `rotated`: the next token becomes current, the presented one previous;
 * - the previous token less than `graceMs` after `rotatedAt` (a retry whose answer was lost; 0: no grace) → `rotated`
 *   again to the next token. The previous token and `rotatedAt` stay as they were, so retries never stretch the grace window, and a
 *   later use of that same spent token is still seen as a reuse;
 * - the previous token after the grace window → `reused`: the session is revoked (`refresh_reuse`) in this same step.
 */
export function applyRotation(session: SessionRow, rotation: RotateRefresh): RotationVerdict {
  const current = rotation.presentedHash === session.refreshHash;
  const previous = !current && session.previousRefreshHash !== null && rotation.presentedHash === session.previousRefreshHash;
  if (!current && !previous) return { outcome: "unknown" };
  if (session.revokedAt !== null) return { outcome: "revoked", session, changed: false };
  if (session.idleExpiresAt <= rotation.now || session.expiresAt <= rotation.now) return { outcome: "expired", session, changed: false };
  const renewed = { lastUsedAt: rotation.now, idleExpiresAt: rotation.idleExpiresAt, generation: session.generation + 1, refreshHash: rotation.nextHash };
  if (current) {
    return {
      outcome: "rotated",
      session: { ...session, ...renewed, previousRefreshHash: rotation.presentedHash, rotatedAt: rotation.now },
      changed: true,
    };
  }
  if (Date.parse(rotation.now) - Date.parse(session.rotatedAt) < rotation.graceMs) {
    return { outcome: "rotated", session: { ...session, ...renewed }, changed: true };
  }
  return { outcome: "reused", session: { ...session, revokedAt: rotation.now, revokedReason: "refresh_reuse" }, changed: true };
}
