/**
 * @module auth/users/access-table
 * What every request by a user's token is checked against, held in memory so that the check costs a map lookup:
 * each user's state and current scopes (from their roles), and which sessions are live. A token's scopes are capped
 * by the user's current scopes on every request; a disabled or deleted user's tokens and a revoked session's access
 * tokens are refused at once. Kept fresh by the services that change users, roles and sessions (`userChanged`,
 * `sessionRevoked`, …), which also tell the other instances of the node (the `publish` port, a cluster signal;
 * cluster/share-signals.ts applies theirs here). What memory does not know yet (a user created, a session started
 * on another instance) is read from the store once.
 */
import type { Scope } from "@kai/protocol";
import type { IdentityStore, SessionRow, UserRow } from "../../storage/contracts/identity-store.js";
import type { Principal, PrincipalGate } from "../principal.js";
import { capScopes, type RoleCatalog } from "../roles.js";

export interface UserEntry {
  id: string;
  username: string;
  kind: UserRow["kind"];
  state: UserRow["state"];
  roles: string[];
  /** The union of the roles' scopes now. */
  scopes: Scope[];
}

/** Signals to the other instances: a user (or the role catalog) changed, a session (or all of a user's) was revoked. */
export type IdentityPublish = (topic: "user_changed" | "session_revoked", payload: Record<string, unknown>) => Promise<void>;

/** How long a revoked session is remembered as such: longer than any of its access tokens can live. */
const REVOKED_MEMORY_MS = 24 * 3600_000;

export class AccessTable implements PrincipalGate {
  private readonly users = new Map<string, UserEntry>();
  /** Users read from the store and found absent (deleted): their tokens need no second read. */
  private readonly gone = new Set<string>();
  /** Live sessions: id → user id and absolute end. */
  private readonly sessions = new Map<string, { userId: string; expiresAt: number }>();
  /** Revoked sessions: id → when to forget it. */
  private readonly revoked = new Map<string, number>();
  /** Capped principals by token, valid while `generation` has not moved. */
  private derived = new WeakMap<Principal, { generation: number; principal: Principal | null }>();
  private generation = 0;

  constructor(
    private readonly store: Pick<IdentityStore, "listUsers" | "getUser" | "getSession" | "listActiveSessions">,
    private readonly roles: RoleCatalog,
    private readonly publish: IdentityPublish = async () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    roles.onChange(() => this.recomputeScopes());
  }

  /** Reads every user (at start, and after this instance may have missed signals). */
  async loadAll(): Promise<void> {
    const rows = await this.store.listUsers();
    this.users.clear();
    this.gone.clear();
    for (const row of rows) this.users.set(row.id, this.entryOf(row));
    this.sessions.clear();
    this.bump();
  }

  user(id: string): UserEntry | undefined {
    return this.users.get(id);
  }

  /** Re-reads one user (created, changed, deleted here or on another instance). */
  async reloadUser(id: string): Promise<void> {
    const row = await this.store.getUser(id);
    this.setUser(id, row);
  }

  /** Takes a row this instance just wrote (no read needed); null = deleted. */
  setUser(id: string, row: UserRow | null): void {
    if (row) {
      this.users.set(id, this.entryOf(row));
      this.gone.delete(id);
    } else {
      this.users.delete(id);
      this.gone.add(id);
      for (const [sid, session] of this.sessions) if (session.userId === id) this.sessions.delete(sid);
    }
    this.bump();
  }

  /** A user was created, changed or deleted on this instance: applied here (`row`), then told to the others. */
  async userChanged(id: string, row: UserRow | null): Promise<void> {
    this.setUser(id, row);
    await this.publish("user_changed", { userId: id });
  }

  /** The role catalog changed on this instance: the others reload it. */
  async rolesChanged(): Promise<void> {
    await this.publish("user_changed", { roles: true });
  }

  /** A session started here: known live without a read. */
  sessionStarted(session: Pick<SessionRow, "id" | "userId" | "expiresAt">): void {
    this.sessions.set(session.id, { userId: session.userId, expiresAt: Date.parse(session.expiresAt) });
  }

  /** Refuses a session's access tokens from now on (revoked on this instance or another). */
  markSessionRevoked(id: string): void {
    this.sessions.delete(id);
    this.revoked.set(id, this.now() + REVOKED_MEMORY_MS);
    this.bump();
  }

  /** Forgets what is known of a user's sessions: the next use of each is checked against the store. */
  forgetUserSessions(userId: string): void {
    for (const [sid, session] of this.sessions) if (session.userId === userId) this.sessions.delete(sid);
    this.bump();
  }

  /** Sessions revoked on this instance: applied here, then told to the others. */
  async sessionsRevoked(change: { sessionIds: readonly string[]; userId?: string }): Promise<void> {
    for (const id of change.sessionIds) this.markSessionRevoked(id);
    if (change.userId !== undefined) await this.publish("session_revoked", { userId: change.userId });
    else for (const id of change.sessionIds) await this.publish("session_revoked", { sessionId: id });
  }

  /** Drops what memory keeps past its use (ended sessions, old revocations). */
  prune(): void {
    const now = this.now();
    for (const [sid, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(sid);
    for (const [sid, until] of this.revoked) if (until <= now) this.revoked.delete(sid);
  }

  apply(token: Principal): Principal | null | undefined {
    const userId = token.userId;
    if (userId === undefined) return token;
    const cached = this.derived.get(token);
    if (cached && cached.generation === this.generation) return cached.principal;
    const user = this.users.get(userId);
    if (!user) return this.gone.has(userId) ? null : undefined;
    let principal: Principal | null;
    if (user.state !== "active") principal = null;
    else if (token.sessionId !== undefined && this.revoked.has(token.sessionId)) principal = null;
    else if (token.sessionId !== undefined && !this.sessions.has(token.sessionId)) return undefined;
    else {
      const scopes = capScopes(token.scopes, user.scopes);
      // A personal token whose every scope its user lost is dead; a session keeps working without scopes (its user can
      // still see and change themselves).
      principal = token.sessionId === undefined && scopes.length === 0 ? null : { ...token, scopes };
    }
    this.derived.set(token, { generation: this.generation, principal });
    return principal;
  }

  async load(token: Principal): Promise<Principal | null> {
    const userId = token.userId;
    if (userId === undefined) return token;
    if (!this.users.has(userId) && !this.gone.has(userId)) this.setUser(userId, await this.store.getUser(userId));
    const sid = token.sessionId;
    if (sid !== undefined && !this.sessions.has(sid) && !this.revoked.has(sid)) {
      const session = await this.store.getSession(sid);
      if (session && session.userId === userId && !session.revokedAt && Date.parse(session.expiresAt) > this.now()) this.sessionStarted(session);
      else this.markSessionRevoked(sid);
    }
    return this.apply(token) ?? null;
  }

  refusal(token: Principal): "session_revoked" | "account_disabled" | null {
    if (token.userId === undefined) return null;
    const user = this.users.get(token.userId);
    if (user && user.state !== "active") return "account_disabled";
    if (token.sessionId !== undefined && (this.revoked.has(token.sessionId) || this.gone.has(token.userId))) return "session_revoked";
    return null;
  }

  /**
   * Checks the live sessions this instance knows against the store (a revocation whose signal this instance missed
   * is found within one call); returns how many were found revoked or ended.
   */
  async refreshSessions(): Promise<number> {
    const live = new Set((await this.store.listActiveSessions(new Date(this.now()).toISOString())).map((row) => row.id));
    let ended = 0;
    for (const sid of [...this.sessions.keys()]) {
      if (!live.has(sid)) {
        this.markSessionRevoked(sid);
        ended++;
      }
    }
    this.prune();
    return ended;
  }

  private entryOf(row: UserRow): UserEntry {
    return { id: row.id, username: row.username, kind: row.kind, state: row.state, roles: [...row.roles], scopes: this.roles.scopesOf(row.roles) };
  }

  private recomputeScopes(): void {
    for (const entry of this.users.values()) entry.scopes = this.roles.scopesOf(entry.roles);
    this.bump();
  }

  private bump(): void {
    this.generation++;
  }
}
