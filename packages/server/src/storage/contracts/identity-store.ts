/**
 * @module storage/contracts/identity-store
 * The storage contract of sign-in (issue 14): users (people and agents), custom roles, sessions with their
 * rotating refresh tokens, second factors (TOTP, recovery codes, passkeys), one-time challenges and the
 * security log. The services in `auth/` do all hashing and cryptography; a store keeps hashes, sealed
 * blobs and metadata, never a password, a code or a refresh token in the clear.
 *
 * Rules every backend keeps (checked by `test/storage/identity-store-contract.ts` on SQLite, PostgreSQL
 * and memory):
 * - Usernames are unique case-insensitively (`Alice` and `alice` are one user); `did` and `ssoSubject` are
 *   unique when set. A second insert answers `IdentityConflict`, never a silent overwrite.
 * - Everything "single use" is consumed atomically, also across several instances on one database: a
 *   refresh token rotates once (`rotateRefresh`), a TOTP time step is accepted once (`consumeTotpStep`), a
 *   recovery code once (`consumeRecoveryCode`), a challenge once (`takeChallenge`). Two racing callers:
 *   exactly one wins. Why: RFC 9700 and the reference's Keycloak #49213 (reuse state written apart from the
 *   rotation revoked live sessions after a failover).
 * - `rotateRefresh` writes the reuse verdict in the same transaction as the rotation: a reuse revokes the
 *   session there and then.
 * - Deleting a user deletes their sessions, factors and challenges (not their security events).
 * - Times are ISO-8601 strings (`Date.prototype.toISOString()`); a write is acknowledged once durable.
 */

export type UserKind = "person" | "agent";
export type UserState = "active" | "disabled";

export interface UserRow {
  /** Stable id (a UUID); usernames may be renamed later, ids never. */
  id: string;
  /** The sign-in name; for agents their `kClass:name` id. Unique case-insensitively. */
  username: string;
  kind: UserKind;
  displayName: string | null;
  /** argon2id PHC string; null for agents, for users who only sign in by SSO, and for passkey-only users. */
  passwordHash: string | null;
  /** An agent's KLP DID (`kind:did:…#ed25519`, its Ed25519 key); unique when set. */
  did: string | null;
  /** `<providerId>|<sub>` of a user created by single sign-on; unique when set. */
  ssoSubject: string | null;
  state: UserState;
  /** Role names (built-in or custom). */
  roles: string[];
  /** Set for the first admin's one-time password: the next sign-in must choose a new password. */
  mustChangePassword: boolean;
  /** Free-form preferences (theme, …), validated by the protocol schema before they reach the store. */
  preferences: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  passwordChangedAt: string | null;
  lastSignInAt: string | null;
}

/** Partial update of a user; `id`, `createdAt` cannot change. */
export type UserPatch = Partial<Omit<UserRow, "id" | "createdAt">>;

/** A custom role. The built-in roles (admin, operator, developer, viewer) live in code, not in the store. */
export interface RoleRow {
  name: string;
  description: string | null;
  scopes: string[];
  createdAt: string;
  updatedAt: string;
}

export type SessionMethod = "password" | "passkey" | "sso" | "agent_key";

export interface SessionRow {
  id: string;
  userId: string;
  method: SessionMethod;
  /** Whether a second factor was presented when the session began. */
  mfa: boolean;
  /** SHA-256 (hex) of the current refresh token. */
  refreshHash: string;
  /** SHA-256 of the refresh token it replaced, kept for the idempotent-retry grace window. */
  previousRefreshHash: string | null;
  /** When the current refresh token was issued (start of the grace window of the previous one). */
  rotatedAt: string;
  /** How many rotations so far. */
  generation: number;
  createdAt: string;
  lastUsedAt: string;
  /** Idle limit: refreshed on every rotation. */
  idleExpiresAt: string;
  /** Absolute limit: never moves. */
  expiresAt: string;
  revokedAt: string | null;
  /** Why: `logout`, `refresh_reuse`, `password_changed`, `admin`, `user`, `user_disabled`, `user_deleted`. */
  revokedReason: string | null;
  userAgent: string | null;
  address: string | null;
}

export interface RotateRefresh {
  sessionId: string;
  /** SHA-256 of the refresh token the client presented. */
  presentedHash: string;
  /** SHA-256 of the refresh token that replaces it. */
  nextHash: string;
  now: string;
  /** New idle expiry. */
  idleExpiresAt: string;
  /** A retry with the token just replaced is accepted (and rotates again) within this many ms of `rotatedAt`. */
  graceMs: number;
}

/**
 * What `rotateRefresh` decided: `rotated` (presented the current token, or the previous one within the grace
 * window); `reused` (presented a spent token outside the grace window: the session is now revoked, reason
 * `refresh_reuse`); `revoked` (the session was already revoked); `expired` (past its idle or absolute limit);
 * `unknown` (no such session, or a hash that was never its token).
 */
export type RotateOutcome =
  | { outcome: "rotated"; session: SessionRow }
  | { outcome: "reused" | "revoked" | "expired"; session: SessionRow }
  | { outcome: "unknown" };

export interface TotpRow {
  userId: string;
  /** The shared secret, sealed by the auth layer (AES-256-GCM); the store never sees it in the clear. */
  sealedSecret: string;
  /** False until the user confirmed enrolment with a first code. */
  confirmed: boolean;
  /** The last time step accepted (replay guard), -1 when none. */
  lastStep: number;
  createdAt: string;
}

export interface RecoveryCodeRow {
  userId: string;
  /** SHA-256 (hex) of the code. */
  codeHash: string;
  usedAt: string | null;
}

export interface PasskeyRow {
  /** The credential id, base64url. */
  id: string;
  userId: string;
  /** COSE public key, base64url. */
  publicKey: string;
  /** Signature counter as last seen (synced passkeys stay at 0). */
  counter: number;
  transports: string[];
  name: string | null;
  /** Whether the authenticator says the credential is backed up (synced). */
  backedUp: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

export type ChallengeKind = "agent_sign_in" | "webauthn_register" | "webauthn_sign_in" | "sso_state";

/** A one-time challenge (agent sign-in nonce, WebAuthn challenge, OIDC state + PKCE verifier). */
export interface ChallengeRow {
  id: string;
  kind: ChallengeKind;
  /** Whom it was issued for (a DID, a user id), or null. */
  subject: string | null;
  /** Opaque data the issuing service needs back (JSON text). */
  data: string;
  expiresAt: string;
  createdAt: string;
}

export interface SecurityEventRow {
  /** Assigned by the store, strictly increasing. */
  seq: number;
  at: string;
  /** e.g. `sign_in`, `sign_in_failed`, `sign_in_throttled`, `mfa_enrolled`, `role_changed`, `session_revoked`. */
  type: string;
  outcome: "success" | "failure";
  userId: string | null;
  username: string | null;
  /** Who did it when it was not the user themselves (an admin's username, `system`). */
  actor: string | null;
  address: string | null;
  /** Non-secret context (JSON object): method, reason, roles before and after, session id. */
  details: Record<string, unknown>;
}

export type NewSecurityEvent = Omit<SecurityEventRow, "seq">;

export interface SecurityEventQuery {
  limit: number;
  /** Events with seq < before (paging backwards from the newest). */
  before?: number;
  userId?: string;
  type?: string;
}

/** Thrown by inserts and updates that would break a uniqueness rule (username, did, ssoSubject, role name, passkey id). */
export class IdentityConflict extends Error {
  constructor(readonly field: "username" | "did" | "ssoSubject" | "role" | "passkey") {
    super(`${field} already exists`);
    this.name = "IdentityConflict";
  }
}

export interface IdentityStore {
  // ---- users ----
  insertUser(user: UserRow): Promise<void>;
  /** Applies the patch; returns the updated row, or null when the user does not exist. */
  updateUser(id: string, patch: UserPatch): Promise<UserRow | null>;
  /** Deletes the user with their sessions, factors and challenges; false when absent. */
  deleteUser(id: string): Promise<boolean>;
  getUser(id: string): Promise<UserRow | null>;
  /** Case-insensitive. */
  getUserByUsername(username: string): Promise<UserRow | null>;
  getUserByDid(did: string): Promise<UserRow | null>;
  getUserBySsoSubject(subject: string): Promise<UserRow | null>;
  /** Every user, ordered by username (a node has thousands at most; the API pages over this in memory). */
  listUsers(): Promise<UserRow[]>;
  countUsers(): Promise<number>;

  // ---- custom roles ----
  upsertRole(role: RoleRow): Promise<void>;
  deleteRole(name: string): Promise<boolean>;
  listRoles(): Promise<RoleRow[]>;

  // ---- sessions ----
  insertSession(session: SessionRow): Promise<void>;
  getSession(id: string): Promise<SessionRow | null>;
  /** A user's sessions, newest first (revoked ones included, for the record). */
  listSessions(userId: string): Promise<SessionRow[]>;
  /** Every unrevoked, unexpired session (admins' view and the access-token check's warm-up). */
  listActiveSessions(now: string): Promise<SessionRow[]>;
  /** Atomically checks the presented refresh hash and rotates it (see `RotateOutcome`). */
  rotateRefresh(rotation: RotateRefresh): Promise<RotateOutcome>;
  /** Revokes one session; false when absent or already revoked. */
  revokeSession(id: string, at: string, reason: string): Promise<boolean>;
  /** Revokes every unrevoked session of the user except `exceptId`; returns the ids revoked. */
  revokeUserSessions(userId: string, at: string, reason: string, exceptId?: string): Promise<string[]>;
  /** Deletes sessions that ended (revoked or expired) before `before`; returns how many. */
  pruneSessions(before: string): Promise<number>;

  // ---- TOTP ----
  putTotp(row: TotpRow): Promise<void>;
  getTotp(userId: string): Promise<TotpRow | null>;
  deleteTotp(userId: string): Promise<boolean>;
  /** Records `step` as used if it is later than the last one accepted; false when it is not (a replay). */
  consumeTotpStep(userId: string, step: number): Promise<boolean>;

  // ---- recovery codes ----
  /** Replaces every recovery code of the user with these (hashes). */
  replaceRecoveryCodes(userId: string, codeHashes: string[], at: string): Promise<void>;
  /** Marks the code used if it exists and is unused; false otherwise. */
  consumeRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean>;
  /** How many unused codes the user has left. */
  countRecoveryCodes(userId: string): Promise<number>;

  // ---- passkeys ----
  insertPasskey(row: PasskeyRow): Promise<void>;
  getPasskey(id: string): Promise<PasskeyRow | null>;
  listPasskeys(userId: string): Promise<PasskeyRow[]>;
  /** Records a use: the new counter and when. */
  touchPasskey(id: string, counter: number, at: string): Promise<void>;
  deletePasskey(userId: string, id: string): Promise<boolean>;

  // ---- one-time challenges ----
  putChallenge(row: ChallengeRow): Promise<void>;
  /** Removes and returns the challenge if it exists, is of `kind` and has not expired at `now`; else null. */
  takeChallenge(id: string, kind: ChallengeKind, now: string): Promise<ChallengeRow | null>;
  /** Deletes expired challenges; returns how many. */
  pruneChallenges(now: string): Promise<number>;

  // ---- security log ----
  appendSecurityEvent(event: NewSecurityEvent): Promise<SecurityEventRow>;
  /** Newest first. */
  listSecurityEvents(query: SecurityEventQuery): Promise<SecurityEventRow[]>;
}
