/**
 * @module storage/memory/memory-identity-store
 * The in-memory `IdentityStore` (contracts/identity-store.ts): users, custom roles, sessions, second factors,
 * challenges and the security log in maps of this process. Each method runs to completion without awaiting, so
 * every check-and-write ("single use" consumption, refresh rotation) is atomic here by construction. The
 * decisions shared with the databases (what a presented refresh token means) come from rows/identity-rules.ts.
 */
import {
  IdentityConflict,
  type ChallengeKind,
  type ChallengeRow,
  type IdentityStore,
  type NewSecurityEvent,
  type PasskeyRow,
  type RecoveryCodeRow,
  type RoleRow,
  type RotateOutcome,
  type RotateRefresh,
  type SecurityEventQuery,
  type SecurityEventRow,
  type SessionRow,
  type TotpRow,
  type UserPatch,
  type UserRow,
} from "../contracts/identity-store.js";
import { applyRotation, foldName, mergeUser, sessionEnded, sessionLive } from "../rows/identity-rules.js";

const byNewest = (a: SessionRow, b: SessionRow): number => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1);

export class MemoryIdentityStore implements IdentityStore {
  private readonly users = new Map<string, UserRow>();
  private readonly roles = new Map<string, RoleRow>();
  private readonly sessions = new Map<string, SessionRow>();
  private readonly totp = new Map<string, TotpRow>();
  private recoveryCodes: RecoveryCodeRow[] = [];
  private readonly passkeys = new Map<string, PasskeyRow>();
  private readonly challenges = new Map<string, ChallengeRow>();
  private readonly events: SecurityEventRow[] = [];
  private seq = 0;

  constructor(private readonly check: () => void) {}

  // ---- users ----

  /** The uniqueness rules of the contract, checked against every user but `selfId`. */
  private assertUnique(user: Pick<UserRow, "username" | "did" | "ssoSubject">, selfId: string | null): void {
    for (const other of this.users.values()) {
      if (other.id === selfId) continue;
      if (foldName(other.username) === foldName(user.username)) throw new IdentityConflict("username");
      if (user.did !== null && other.did === user.did) throw new IdentityConflict("did");
      if (user.ssoSubject !== null && other.ssoSubject === user.ssoSubject) throw new IdentityConflict("ssoSubject");
    }
  }

  async insertUser(user: UserRow): Promise<void> {
    this.check();
    if (this.users.has(user.id)) throw new Error("duplicate user id");
    this.assertUnique(user, null);
    this.users.set(user.id, structuredClone(user));
  }

  async updateUser(id: string, patch: UserPatch): Promise<UserRow | null> {
    this.check();
    const current = this.users.get(id);
    if (!current) return null;
    const next = mergeUser(current, structuredClone(patch));
    this.assertUnique(next, id);
    this.users.set(id, next);
    return structuredClone(next);
  }

  async deleteUser(id: string): Promise<boolean> {
    this.check();
    const user = this.users.get(id);
    if (!user) return false;
    this.users.delete(id);
    for (const [key, session] of this.sessions) if (session.userId === id) this.sessions.delete(key);
    this.totp.delete(id);
    this.recoveryCodes = this.recoveryCodes.filter((code) => code.userId !== id);
    for (const [key, passkey] of this.passkeys) if (passkey.userId === id) this.passkeys.delete(key);
    for (const [key, challenge] of this.challenges) {
      if (challenge.subject !== null && (challenge.subject === id || challenge.subject === user.did)) this.challenges.delete(key);
    }
    return true;
  }

  async getUser(id: string): Promise<UserRow | null> {
    this.check();
    const user = this.users.get(id);
    return user ? structuredClone(user) : null;
  }

  private findUser(match: (user: UserRow) => boolean): UserRow | null {
    this.check();
    for (const user of this.users.values()) if (match(user)) return structuredClone(user);
    return null;
  }

  async getUserByUsername(username: string): Promise<UserRow | null> {
    const key = foldName(username);
    return this.findUser((user) => foldName(user.username) === key);
  }

  async getUserByDid(did: string): Promise<UserRow | null> {
    return this.findUser((user) => user.did === did);
  }

  async getUserBySsoSubject(subject: string): Promise<UserRow | null> {
    return this.findUser((user) => user.ssoSubject === subject);
  }

  async listUsers(): Promise<UserRow[]> {
    this.check();
    const key = (user: UserRow) => `${foldName(user.username)}\u0000${user.id}`;
    return [...this.users.values()].sort((a, b) => (key(a) < key(b) ? -1 : 1)).map((user) => structuredClone(user));
  }

  async countUsers(): Promise<number> {
    this.check();
    return this.users.size;
  }

  // ---- custom roles ----

  async upsertRole(role: RoleRow): Promise<void> {
    this.check();
    const current = this.roles.get(role.name);
    for (const other of this.roles.values()) {
      if (other.name !== role.name && foldName(other.name) === foldName(role.name)) throw new IdentityConflict("role");
    }
    // The first creation time stays, whatever a later upsert says.
    this.roles.set(role.name, { ...structuredClone(role), createdAt: current?.createdAt ?? role.createdAt });
  }

  async deleteRole(name: string): Promise<boolean> {
    this.check();
    return this.roles.delete(name);
  }

  async listRoles(): Promise<RoleRow[]> {
    this.check();
    return [...this.roles.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((role) => structuredClone(role));
  }

  // ---- sessions ----

  async insertSession(session: SessionRow): Promise<void> {
    this.check();
    if (this.sessions.has(session.id)) throw new Error("duplicate session id");
    this.sessions.set(session.id, structuredClone(session));
  }

  async getSession(id: string): Promise<SessionRow | null> {
    this.check();
    const session = this.sessions.get(id);
    return session ? structuredClone(session) : null;
  }

  async listSessions(userId: string): Promise<SessionRow[]> {
    this.check();
    return [...this.sessions.values()].filter((session) => session.userId === userId).sort(byNewest).map((session) => structuredClone(session));
  }

  async listActiveSessions(now: string): Promise<SessionRow[]> {
    this.check();
    return [...this.sessions.values()].filter((session) => sessionLive(session, now)).sort(byNewest).map((session) => structuredClone(session));
  }

  async rotateRefresh(rotation: RotateRefresh): Promise<RotateOutcome> {
    this.check();
    const session = this.sessions.get(rotation.sessionId);
    if (!session) return { outcome: "unknown" };
    const verdict = applyRotation(session, rotation);
    if (verdict.outcome === "unknown") return verdict;
    if (verdict.changed) this.sessions.set(session.id, structuredClone(verdict.session));
    return { outcome: verdict.outcome, session: structuredClone(verdict.session) };
  }

  async revokeSession(id: string, at: string, reason: string): Promise<boolean> {
    this.check();
    const session = this.sessions.get(id);
    if (!session || session.revokedAt !== null) return false;
    session.revokedAt = at;
    session.revokedReason = reason;
    return true;
  }

  async revokeUserSessions(userId: string, at: string, reason: string, exceptId?: string): Promise<string[]> {
    this.check();
    const revoked: string[] = [];
    for (const session of this.sessions.values()) {
      if (session.userId !== userId || session.id === exceptId || session.revokedAt !== null) continue;
      session.revokedAt = at;
      session.revokedReason = reason;
      revoked.push(session.id);
    }
    return revoked;
  }

  async pruneSessions(before: string): Promise<number> {
    this.check();
    let count = 0;
    for (const [id, session] of this.sessions) {
      if (sessionEnded(session, before)) {
        this.sessions.delete(id);
        count++;
      }
    }
    return count;
  }

  // ---- TOTP ----

  async putTotp(row: TotpRow): Promise<void> {
    this.check();
    this.totp.set(row.userId, structuredClone(row));
  }

  async getTotp(userId: string): Promise<TotpRow | null> {
    this.check();
    const row = this.totp.get(userId);
    return row ? structuredClone(row) : null;
  }

  async deleteTotp(userId: string): Promise<boolean> {
    this.check();
    return this.totp.delete(userId);
  }

  async consumeTotpStep(userId: string, step: number): Promise<boolean> {
    this.check();
    const row = this.totp.get(userId);
    if (!row || step <= row.lastStep) return false;
    row.lastStep = step;
    return true;
  }

  // ---- recovery codes ----

  async replaceRecoveryCodes(userId: string, codeHashes: string[], _at: string): Promise<void> {
    this.check();
    this.recoveryCodes = this.recoveryCodes.filter((code) => code.userId !== userId);
    for (const codeHash of new Set(codeHashes)) this.recoveryCodes.push({ userId, codeHash, usedAt: null });
  }

  async consumeRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean> {
    this.check();
    const code = this.recoveryCodes.find((row) => row.userId === userId && row.codeHash === codeHash && row.usedAt === null);
    if (!code) return false;
    code.usedAt = at;
    return true;
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    this.check();
    return this.recoveryCodes.filter((row) => row.userId === userId && row.usedAt === null).length;
  }

  // ---- passkeys ----

  async insertPasskey(row: PasskeyRow): Promise<void> {
    this.check();
    if (this.passkeys.has(row.id)) throw new IdentityConflict("passkey");
    this.passkeys.set(row.id, structuredClone(row));
  }

  async getPasskey(id: string): Promise<PasskeyRow | null> {
    this.check();
    const row = this.passkeys.get(id);
    return row ? structuredClone(row) : null;
  }

  async listPasskeys(userId: string): Promise<PasskeyRow[]> {
    this.check();
    const key = (row: PasskeyRow) => `${row.createdAt}\u0000${row.id}`;
    return [...this.passkeys.values()]
      .filter((row) => row.userId === userId)
      .sort((a, b) => (key(a) < key(b) ? -1 : 1))
      .map((row) => structuredClone(row));
  }

  async touchPasskey(id: string, counter: number, at: string): Promise<void> {
    this.check();
    const row = this.passkeys.get(id);
    if (!row) return;
    row.counter = counter;
    row.lastUsedAt = at;
  }

  async deletePasskey(userId: string, id: string): Promise<boolean> {
    this.check();
    if (this.passkeys.get(id)?.userId !== userId) return false;
    return this.passkeys.delete(id);
  }

  // ---- one-time challenges ----

  async putChallenge(row: ChallengeRow): Promise<void> {
    this.check();
    if (this.challenges.has(row.id)) throw new Error("duplicate challenge id");
    this.challenges.set(row.id, structuredClone(row));
  }

  async takeChallenge(id: string, kind: ChallengeKind, now: string): Promise<ChallengeRow | null> {
    this.check();
    const row = this.challenges.get(id);
    if (!row || row.kind !== kind || row.expiresAt <= now) return null;
    this.challenges.delete(id);
    return structuredClone(row);
  }

  async pruneChallenges(now: string): Promise<number> {
    this.check();
    let count = 0;
    for (const [id, row] of this.challenges) {
      if (row.expiresAt <= now) {
        this.challenges.delete(id);
        count++;
      }
    }
    return count;
  }

  // ---- security log ----

  async appendSecurityEvent(event: NewSecurityEvent): Promise<SecurityEventRow> {
    this.check();
    const row: SecurityEventRow = { ...structuredClone(event), seq: ++this.seq };
    this.events.push(row);
    return structuredClone(row);
  }

  async listSecurityEvents(query: SecurityEventQuery): Promise<SecurityEventRow[]> {
    this.check();
    const out: SecurityEventRow[] = [];
    for (let i = this.events.length - 1; i >= 0 && out.length < query.limit; i--) {
      const event = this.events[i]!;
      if (query.before !== undefined && event.seq >= query.before) continue;
      if (query.userId !== undefined && event.userId !== query.userId) continue;
      if (query.type !== undefined && event.type !== query.type) continue;
      out.push(structuredClone(event));
    }
    return out;
  }
}
