/**
 * @module auth/sessions/session-service
 * Sessions: a sign-in starts one (a short-lived access token, an EdDSA JWT with `uid` and `sid`, and a rotating
 * refresh token); a refresh rotates the refresh token atomically in the store (a spent one presented outside the
 * grace window revokes the whole session: theft detection, RFC 9700); sign-out, revocation by the user or an
 * admin, and a password change end sessions. Every start and end is a security event; every revocation is applied
 * to the access table at once and told to the other instances.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import type { Scope, Session } from "@kai/protocol";
import type { IdentityStore, SessionRow, UserRow } from "../../storage/contracts/identity-store.js";
import type { TokenService } from "../token-service.js";
import type { RoleCatalog } from "../roles.js";
import type { AccessTable } from "../users/access-table.js";
import type { SecurityLog } from "../security-log.js";
import type { IssuedSession, SecondFactors, SessionStart, SessionStarter } from "../sign-in-ports.js";
import { ApiError, notFound } from "../../errors.js";
import { hashToken, newRefreshToken, sessionIdOf } from "./refresh-tokens.js";

export interface SessionSettings {
  accessTtlSeconds: number;
  sessionIdleSeconds: number;
  sessionMaxSeconds: number;
  refreshGraceSeconds: number;
}

export interface SessionServiceOptions {
  store: IdentityStore;
  tokens: TokenService;
  roles: RoleCatalog;
  access: AccessTable;
  log: SecurityLog;
  /** Asked at every start and refresh whether the user must still enrol a second factor (then the session holds no scopes). */
  secondFactors: SecondFactors;
  settings: SessionSettings;
  now?: () => number;
}

/** Who revokes a session: its user, an admin (username), or the system. */
export interface Revoker {
  actor: string | null;
  reason: string;
  address?: string | null;
}

export class SessionService implements SessionStarter {
  private readonly now: () => number;
  private csrfKey: Buffer | null = null;

  constructor(private readonly options: SessionServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  async start(user: UserRow, how: SessionStart): Promise<IssuedSession> {
    if (user.state !== "active") throw new ApiError("account_disabled", "this user is disabled");
    const { settings } = this.options;
    const now = this.now();
    const id = randomUUID();
    const refreshToken = newRefreshToken(id);
    const expiresAt = now + settings.sessionMaxSeconds * 1000;
    const row: SessionRow = {
      id,
      userId: user.id,
      method: how.method,
      mfa: how.mfa,
      refreshHash: hashToken(refreshToken),
      previousRefreshHash: null,
      rotatedAt: iso(now),
      generation: 0,
      createdAt: iso(now),
      lastUsedAt: iso(now),
      idleExpiresAt: iso(Math.min(expiresAt, now + settings.sessionIdleSeconds * 1000)),
      expiresAt: iso(expiresAt),
      revokedAt: null,
      revokedReason: null,
      userAgent: how.userAgent?.slice(0, 256) ?? null,
      address: how.address,
    };
    await this.options.store.insertSession(row);
    this.options.access.sessionStarted(row);
    const issued = await this.issue(user, row, refreshToken);
    await this.options.store.updateUser(user.id, { lastSignInAt: iso(now) });
    await this.options.log.record({ type: "sign_in", outcome: "success", userId: user.id, username: user.username, address: how.address, details: { ...how.details, method: how.method, mfa: how.mfa, sessionId: id } });
    return issued;
  }

  /** Rotates the refresh token; answers the new pair, or throws `session_revoked` / `unauthorized`. */
  async refresh(refreshToken: string, address: string | null): Promise<IssuedSession> {
    const sessionId = sessionIdOf(refreshToken);
    if (!sessionId) throw invalidRefresh();
    const { settings, store } = this.options;
    const now = this.now();
    const next = newRefreshToken(sessionId);
    const result = await store.rotateRefresh({
      sessionId,
      presentedHash: hashToken(refreshToken),
      nextHash: hashToken(next),
      now: iso(now),
      idleExpiresAt: iso(now + settings.sessionIdleSeconds * 1000),
      graceMs: settings.refreshGraceSeconds * 1000,
    });
    if (result.outcome === "unknown") throw invalidRefresh();
    const session = result.session;
    if (result.outcome === "reused") {
      // Someone presented a spent refresh token: either the client or a thief holds a copy. The store revoked the session.
      await this.options.access.sessionsRevoked({ sessionIds: [session.id] });
      const user = await store.getUser(session.userId);
      await this.options.log.record({ type: "session_revoked", outcome: "failure", userId: session.userId, username: user?.username ?? null, actor: "system", address, details: { sessionId: session.id, reason: "refresh_reuse" } });
      throw new ApiError("session_revoked", "this refresh token was already used: the session has been revoked; sign in again");
    }
    if (result.outcome !== "rotated") throw new ApiError("session_revoked", "the session has ended; sign in again");
    const user = await store.getUser(session.userId);
    if (!user || user.state !== "active") {
      await this.revoke(session.id, { actor: "system", reason: user ? "user_disabled" : "user_deleted" });
      throw user ? new ApiError("account_disabled", "this user is disabled") : new ApiError("session_revoked", "the session has ended; sign in again");
    }
    this.options.access.sessionStarted(session);
    return this.issue(user, session, next);
  }

  /** Ends the session the refresh token belongs to (sign-out). An unknown or spent token ends nothing and is not an error. */
  async logout(refreshToken: string, address: string | null): Promise<void> {
    const sessionId = sessionIdOf(refreshToken);
    if (!sessionId) return;
    const session = await this.options.store.getSession(sessionId);
    if (!session || session.revokedAt) return;
    const presented = Buffer.from(hashToken(refreshToken));
    const holds = [session.refreshHash, session.previousRefreshHash].some((hash) => hash !== null && timingSafeEqual(Buffer.from(hash), presented));
    if (!holds) return;
    await this.revoke(session.id, { actor: null, reason: "logout", address });
  }

  /** Ends the session of an access token (sign-out of a cookie session, whose refresh cookie may be gone). */
  async logoutSession(sessionId: string, address: string | null): Promise<void> {
    await this.revoke(sessionId, { actor: null, reason: "logout", address }).catch((error: unknown) => {
      if (!(error instanceof ApiError && error.code === "not_found")) throw error;
    });
  }

  /** Revokes one session (its user, an admin, the system); not_found when absent or already ended. */
  async revoke(sessionId: string, by: Revoker): Promise<void> {
    const session = await this.options.store.getSession(sessionId);
    const done = session ? await this.options.store.revokeSession(sessionId, iso(this.now()), by.reason) : false;
    if (!session || !done) throw notFound("session");
    await this.options.access.sessionsRevoked({ sessionIds: [sessionId] });
    const user = await this.options.store.getUser(session.userId);
    await this.options.log.record({ type: "session_revoked", outcome: "success", userId: session.userId, username: user?.username ?? null, actor: by.actor, address: by.address ?? null, details: { sessionId, reason: by.reason } });
  }

  /** Revokes every session of a user except `exceptId` (password change, disable, delete); returns how many ended. */
  async revokeUser(user: Pick<UserRow, "id" | "username">, by: Revoker, exceptId?: string): Promise<number> {
    const ids = await this.options.store.revokeUserSessions(user.id, iso(this.now()), by.reason, exceptId);
    await this.options.access.sessionsRevoked({ sessionIds: ids, userId: user.id });
    if (ids.length > 0) await this.options.log.record({ type: "session_revoked", outcome: "success", userId: user.id, username: user.username, actor: by.actor, address: by.address ?? null, details: { sessions: ids.length, reason: by.reason } });
    return ids.length;
  }

  async get(sessionId: string): Promise<SessionRow | null> {
    return this.options.store.getSession(sessionId);
  }

  /** A user's sessions as they see them, newest first; `current` marks the caller's. */
  async list(user: Pick<UserRow, "id" | "username">, currentId?: string): Promise<Session[]> {
    return (await this.options.store.listSessions(user.id)).map((row) => toSession(row, user.username, currentId));
  }

  /** The CSRF token of a session: an HMAC of its id under a key every instance derives from the node key. */
  csrfTokenFor(sessionId: string): string {
    this.csrfKey ??= this.options.tokens.deriveKey("csrf");
    return createHmac("sha256", this.csrfKey).update(sessionId).digest("base64url");
  }

  /** Whether `presented` is the CSRF token of the session (constant time). */
  checkCsrf(sessionId: string, presented: string | undefined): boolean {
    if (!presented || presented.length > 128) return false;
    let expected: string;
    try {
      expected = this.csrfTokenFor(sessionId);
    } catch {
      return false;
    }
    return presented.length === expected.length && timingSafeEqual(Buffer.from(presented), Buffer.from(expected));
  }

  /** The scopes a session of the user holds now: their roles', or none while a required second factor is not enrolled. */
  private async scopesFor(user: UserRow): Promise<Scope[]> {
    if (user.kind === "person" && (await this.options.secondFactors.required(user)).mustEnrol) return [];
    return this.options.roles.scopesOf(user.roles);
  }

  private async issue(user: UserRow, session: SessionRow, refreshToken: string): Promise<IssuedSession> {
    const now = this.now();
    const sessionEnd = Date.parse(session.expiresAt);
    const scopes = await this.scopesFor(user);
    const ttlSeconds = Math.max(1, Math.min(this.options.settings.accessTtlSeconds, Math.floor((sessionEnd - now) / 1000)));
    const access = await this.options.tokens.signAccess({ owner: user.username, scopes, userId: user.id, sessionId: session.id, ttlSeconds });
    return {
      sessionId: session.id,
      accessToken: access.token,
      refreshToken,
      csrfToken: this.csrfTokenFor(session.id),
      accessExpiresAt: access.expiresAt,
      sessionExpiresAt: sessionEnd,
      user: { id: user.id, username: user.username, kind: user.kind, roles: [...user.roles] },
      scopes,
    };
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const invalidRefresh = () => new ApiError("unauthorized", "invalid refresh token");

function toSession(row: SessionRow, username: string, currentId: string | undefined): Session {
  return {
    id: row.id,
    userId: row.userId,
    username,
    method: row.method,
    mfa: row.mfa,
    createdAt: row.createdAt,
    lastUsedAt: row.lastUsedAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    revokedReason: row.revokedReason,
    userAgent: row.userAgent,
    address: row.address,
    current: row.id === currentId,
  };
}
