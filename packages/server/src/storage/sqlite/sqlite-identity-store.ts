/**
 * @module storage/sqlite/sqlite-identity-store
 * The SQLite backend of `IdentityStore` (contracts/identity-store.ts), on the backend's connection (tables of
 * migration 7, sqlite-identity-schema.ts). Reads run synchronously. Every write joins the backend's group-commit
 * batches (write-batcher.ts) as one atomic entry that resolves once durable; the batcher runs entries one after
 * another in one transaction, so a check and the write it decides (a uniqueness check, a refresh rotation with its
 * reuse verdict, consuming a TOTP step, a recovery code or a challenge) can never interleave with another write.
 * Every entry only touches SQLite, so the batcher may run it again after a rollback (`enqueue`'s rule).
 */
import type { Database, Statement } from "better-sqlite3";
import {
  IdentityConflict,
  type ChallengeKind,
  type ChallengeRow,
  type IdentityStore,
  type NewSecurityEvent,
  type PasskeyRow,
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
import { applyRotation, foldName, mergeUser } from "../rows/identity-rules.js";
import {
  CHALLENGE_COLUMNS,
  PASSKEY_COLUMNS,
  ROLE_COLUMNS,
  SECURITY_EVENT_COLUMNS,
  SESSION_COLUMNS,
  TOTP_COLUMNS,
  USER_COLUMNS,
  challengeValues,
  passkeyValues,
  roleValues,
  securityEventValues,
  sessionValues,
  toChallengeRow,
  toPasskeyRow,
  toRoleRow,
  toSecurityEventRow,
  toSessionRow,
  toTotpRow,
  toUserRow,
  totpValues,
  userValues,
  type ChallengeDbRow,
  type DbValue,
  type PasskeyDbRow,
  type RoleDbRow,
  type SecurityEventDbRow,
  type SessionDbRow,
  type TotpDbRow,
  type UserDbRow,
} from "../rows/identity-rows.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

type Param = string | number | null;

/** SQLite binds no booleans: 1 and 0 instead. */
const bind = (values: DbValue[]): Param[] => values.map((value) => (typeof value === "boolean" ? (value ? 1 : 0) : value));

const insertSql = (table: string, columns: readonly string[]): string =>
  `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;

/** `UPDATE table SET every column but the key = ? … WHERE key = ?`: parameters are the row's values without the key, then the key. */
const updateSql = (table: string, columns: readonly string[]): string =>
  `UPDATE ${table} SET ${columns.slice(1).map((column) => `${column} = ?`).join(", ")} WHERE ${columns[0]} = ?`;

const byKeyLast = (values: Param[]): Param[] => [...values.slice(1), values[0]!];

export class SqliteIdentityStore implements IdentityStore {
  private readonly statements: Record<string, Statement<Param[]>> = {};
  /** `listSecurityEvents` statements by which filters they have (prepared on first use, then kept). */
  private readonly eventQueries = new Map<string, Statement<Param[], SecurityEventDbRow>>();

  constructor(
    private readonly db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    const sql: Record<string, string> = {
      insertUser: insertSql("users", USER_COLUMNS),
      updateUser: updateSql("users", USER_COLUMNS),
      deleteUser: "DELETE FROM users WHERE id = ?",
      userById: "SELECT * FROM users WHERE id = ?",
      userByKey: "SELECT * FROM users WHERE username_key = ?",
      userByDid: "SELECT * FROM users WHERE did = ?",
      userBySso: "SELECT * FROM users WHERE sso_subject = ?",
      usersClashing: "SELECT username_key, did, sso_subject FROM users WHERE id <> ? AND (username_key = ? OR did = ? OR sso_subject = ?)",
      users: "SELECT * FROM users ORDER BY username_key, id",
      countUsers: "SELECT count(*) AS n FROM users",
      roleClash: "SELECT name FROM roles WHERE name_key = ? AND name <> ?",
      upsertRole: `${insertSql("roles", ROLE_COLUMNS)}
        ON CONFLICT (name) DO UPDATE SET description = excluded.description, scopes = excluded.scopes, updated_at = excluded.updated_at`,
      deleteRole: "DELETE FROM roles WHERE name = ?",
      roles: "SELECT * FROM roles ORDER BY name",
      insertSession: insertSql("sessions", SESSION_COLUMNS),
      updateSession: updateSql("sessions", SESSION_COLUMNS),
      session: "SELECT * FROM sessions WHERE id = ?",
      sessionsOf: "SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at DESC, id DESC",
      activeSessions: "SELECT * FROM sessions WHERE revoked_at IS NULL AND idle_expires_at > ? AND expires_at > ? ORDER BY created_at DESC, id DESC",
      revokeSession: "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
      revokeUserSessions: "UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ? RETURNING id",
      pruneSessions: "DELETE FROM sessions WHERE revoked_at < ? OR idle_expires_at < ? OR expires_at < ?",
      deleteSessionsOf: "DELETE FROM sessions WHERE user_id = ?",
      putTotp: `${insertSql("totp_factors", TOTP_COLUMNS)}
        ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, confirmed = excluded.confirmed,
          last_step = excluded.last_step, created_at = excluded.created_at`,
      totp: "SELECT * FROM totp_factors WHERE user_id = ?",
      deleteTotp: "DELETE FROM totp_factors WHERE user_id = ?",
      consumeTotpStep: "UPDATE totp_factors SET last_step = ? WHERE user_id = ? AND last_step < ?",
      deleteCodesOf: "DELETE FROM recovery_codes WHERE user_id = ?",
      insertCode: "INSERT OR IGNORE INTO recovery_codes (user_id, code_hash, used_at, created_at) VALUES (?, ?, NULL, ?)",
      consumeCode: "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
      countCodes: "SELECT count(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
      insertPasskey: insertSql("passkeys", PASSKEY_COLUMNS),
      passkey: "SELECT * FROM passkeys WHERE id = ?",
      passkeysOf: "SELECT * FROM passkeys WHERE user_id = ? ORDER BY created_at, id",
      touchPasskey: "UPDATE passkeys SET counter = ?, last_used_at = ? WHERE id = ?",
      deletePasskey: "DELETE FROM passkeys WHERE user_id = ? AND id = ?",
      deletePasskeysOf: "DELETE FROM passkeys WHERE user_id = ?",
      insertChallenge: insertSql("challenges", CHALLENGE_COLUMNS),
      takeChallenge: "DELETE FROM challenges WHERE id = ? AND kind = ? AND expires_at > ? RETURNING *",
      pruneChallenges: "DELETE FROM challenges WHERE expires_at <= ?",
      deleteChallengesOf: "DELETE FROM challenges WHERE subject = ? OR subject = ?",
      appendEvent: insertSql("security_events", SECURITY_EVENT_COLUMNS),
    };
    for (const [name, text] of Object.entries(sql)) this.statements[name] = db.prepare<Param[]>(text);
  }

  private statement(name: string): Statement<Param[]> {
    return this.statements[name]!;
  }

  private one<R>(name: string, ...params: Param[]): R | undefined {
    this.hooks.assertOpen();
    return this.statement(name).get(...params) as R | undefined;
  }

  private all<R>(name: string, ...params: Param[]): R[] {
    this.hooks.assertOpen();
    return this.statement(name).all(...params) as R[];
  }

  private run(name: string, ...params: Param[]): number {
    return this.statement(name).run(...params).changes;
  }

  // ---- users ----

  /** Throws `IdentityConflict` when another user has this username (folded), did or SSO subject. */
  private assertUnique(user: UserRow): void {
    const key = foldName(user.username);
    const clashes = this.statement("usersClashing").all(user.id, key, user.did, user.ssoSubject) as { username_key: string; did: string | null; sso_subject: string | null }[];
    for (const clash of clashes) {
      if (clash.username_key === key) throw new IdentityConflict("username");
      if (user.did !== null && clash.did === user.did) throw new IdentityConflict("did");
      if (user.ssoSubject !== null && clash.sso_subject === user.ssoSubject) throw new IdentityConflict("ssoSubject");
    }
  }

  insertUser(user: UserRow): Promise<void> {
    const values = bind(userValues(user));
    return this.hooks.enqueue(() => {
      this.assertUnique(user);
      this.run("insertUser", ...values);
    });
  }

  updateUser(id: string, patch: UserPatch): Promise<UserRow | null> {
    return this.hooks.enqueue(() => {
      const row = this.statement("userById").get(id) as UserDbRow | undefined;
      if (!row) return null;
      const next = mergeUser(toUserRow(row), patch);
      this.assertUnique(next);
      this.run("updateUser", ...byKeyLast(bind(userValues(next))));
      return next;
    });
  }

  deleteUser(id: string): Promise<boolean> {
    return this.hooks.enqueue(() => {
      const row = this.statement("userById").get(id) as UserDbRow | undefined;
      if (!row) return false;
      this.run("deleteSessionsOf", id);
      this.run("deleteTotp", id);
      this.run("deleteCodesOf", id);
      this.run("deletePasskeysOf", id);
      this.run("deleteChallengesOf", id, (row.did as string | null) ?? id);
      this.run("deleteUser", id);
      return true;
    });
  }

  async getUser(id: string): Promise<UserRow | null> {
    const row = this.one<UserDbRow>("userById", id);
    return row ? toUserRow(row) : null;
  }

  async getUserByUsername(username: string): Promise<UserRow | null> {
    const row = this.one<UserDbRow>("userByKey", foldName(username));
    return row ? toUserRow(row) : null;
  }

  async getUserByDid(did: string): Promise<UserRow | null> {
    const row = this.one<UserDbRow>("userByDid", did);
    return row ? toUserRow(row) : null;
  }

  async getUserBySsoSubject(subject: string): Promise<UserRow | null> {
    const row = this.one<UserDbRow>("userBySso", subject);
    return row ? toUserRow(row) : null;
  }

  async listUsers(): Promise<UserRow[]> {
    return this.all<UserDbRow>("users").map(toUserRow);
  }

  async countUsers(): Promise<number> {
    return this.one<{ n: number }>("countUsers")!.n;
  }

  // ---- custom roles ----

  upsertRole(role: RoleRow): Promise<void> {
    const values = bind(roleValues(role));
    return this.hooks.enqueue(() => {
      if (this.statement("roleClash").get(foldName(role.name), role.name)) throw new IdentityConflict("role");
      this.run("upsertRole", ...values);
    });
  }

  deleteRole(name: string): Promise<boolean> {
    return this.hooks.enqueue(() => this.run("deleteRole", name) > 0);
  }

  async listRoles(): Promise<RoleRow[]> {
    return this.all<RoleDbRow>("roles").map(toRoleRow);
  }

  // ---- sessions ----

  insertSession(session: SessionRow): Promise<void> {
    const values = bind(sessionValues(session));
    return this.hooks.enqueue(() => {
      this.run("insertSession", ...values);
    });
  }

  async getSession(id: string): Promise<SessionRow | null> {
    const row = this.one<SessionDbRow>("session", id);
    return row ? toSessionRow(row) : null;
  }

  async listSessions(userId: string): Promise<SessionRow[]> {
    return this.all<SessionDbRow>("sessionsOf", userId).map(toSessionRow);
  }

  async listActiveSessions(now: string): Promise<SessionRow[]> {
    return this.all<SessionDbRow>("activeSessions", now, now).map(toSessionRow);
  }

  rotateRefresh(rotation: RotateRefresh): Promise<RotateOutcome> {
    return this.hooks.enqueue((): RotateOutcome => {
      const row = this.statement("session").get(rotation.sessionId) as SessionDbRow | undefined;
      if (!row) return { outcome: "unknown" };
      const verdict = applyRotation(toSessionRow(row), rotation);
      if (verdict.outcome === "unknown") return verdict;
      // The verdict and its consequence (the rotation, or the revocation of a reused token) commit together.
      if (verdict.changed) this.run("updateSession", ...byKeyLast(bind(sessionValues(verdict.session))));
      return { outcome: verdict.outcome, session: verdict.session };
    });
  }

  revokeSession(id: string, at: string, reason: string): Promise<boolean> {
    return this.hooks.enqueue(() => this.run("revokeSession", at, reason, id) > 0);
  }

  revokeUserSessions(userId: string, at: string, reason: string, exceptId?: string): Promise<string[]> {
    return this.hooks.enqueue(() => (this.statement("revokeUserSessions").all(at, reason, userId, exceptId ?? null) as { id: string }[]).map((row) => row.id));
  }

  pruneSessions(before: string): Promise<number> {
    return this.hooks.enqueue(() => this.run("pruneSessions", before, before, before));
  }

  // ---- TOTP ----

  putTotp(row: TotpRow): Promise<void> {
    const values = bind(totpValues(row));
    return this.hooks.enqueue(() => {
      this.run("putTotp", ...values);
    });
  }

  async getTotp(userId: string): Promise<TotpRow | null> {
    const row = this.one<TotpDbRow>("totp", userId);
    return row ? toTotpRow(row) : null;
  }

  deleteTotp(userId: string): Promise<boolean> {
    return this.hooks.enqueue(() => this.run("deleteTotp", userId) > 0);
  }

  consumeTotpStep(userId: string, step: number): Promise<boolean> {
    return this.hooks.enqueue(() => this.run("consumeTotpStep", step, userId, step) > 0);
  }

  // ---- recovery codes ----

  replaceRecoveryCodes(userId: string, codeHashes: string[], at: string): Promise<void> {
    return this.hooks.enqueue(() => {
      this.run("deleteCodesOf", userId);
      for (const codeHash of codeHashes) this.run("insertCode", userId, codeHash, at);
    });
  }

  consumeRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean> {
    return this.hooks.enqueue(() => this.run("consumeCode", at, userId, codeHash) > 0);
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    return this.one<{ n: number }>("countCodes", userId)!.n;
  }

  // ---- passkeys ----

  insertPasskey(row: PasskeyRow): Promise<void> {
    const values = bind(passkeyValues(row));
    return this.hooks.enqueue(() => {
      if (this.statement("passkey").get(row.id)) throw new IdentityConflict("passkey");
      this.run("insertPasskey", ...values);
    });
  }

  async getPasskey(id: string): Promise<PasskeyRow | null> {
    const row = this.one<PasskeyDbRow>("passkey", id);
    return row ? toPasskeyRow(row) : null;
  }

  async listPasskeys(userId: string): Promise<PasskeyRow[]> {
    return this.all<PasskeyDbRow>("passkeysOf", userId).map(toPasskeyRow);
  }

  touchPasskey(id: string, counter: number, at: string): Promise<void> {
    return this.hooks.enqueue(() => {
      this.run("touchPasskey", counter, at, id);
    });
  }

  deletePasskey(userId: string, id: string): Promise<boolean> {
    return this.hooks.enqueue(() => this.run("deletePasskey", userId, id) > 0);
  }

  // ---- one-time challenges ----

  putChallenge(row: ChallengeRow): Promise<void> {
    const values = bind(challengeValues(row));
    return this.hooks.enqueue(() => {
      this.run("insertChallenge", ...values);
    });
  }

  takeChallenge(id: string, kind: ChallengeKind, now: string): Promise<ChallengeRow | null> {
    return this.hooks.enqueue(() => {
      const row = this.statement("takeChallenge").get(id, kind, now) as ChallengeDbRow | undefined;
      return row ? toChallengeRow(row) : null;
    });
  }

  pruneChallenges(now: string): Promise<number> {
    return this.hooks.enqueue(() => this.run("pruneChallenges", now));
  }

  // ---- security log ----

  appendSecurityEvent(event: NewSecurityEvent): Promise<SecurityEventRow> {
    const values = bind(securityEventValues(event));
    return this.hooks.enqueue(() => {
      const seq = Number(this.statement("appendEvent").run(...values).lastInsertRowid);
      return { ...structuredClone(event), seq };
    });
  }

  async listSecurityEvents(query: SecurityEventQuery): Promise<SecurityEventRow[]> {
    this.hooks.assertOpen();
    const conditions: string[] = [];
    const params: Param[] = [];
    if (query.before !== undefined) {
      conditions.push("seq < ?");
      params.push(query.before);
    }
    if (query.userId !== undefined) {
      conditions.push("user_id = ?");
      params.push(query.userId);
    }
    if (query.type !== undefined) {
      conditions.push("type = ?");
      params.push(query.type);
    }
    const shape = conditions.join(" AND ");
    let statement = this.eventQueries.get(shape);
    if (!statement) {
      statement = this.db.prepare<Param[], SecurityEventDbRow>(
        `SELECT * FROM security_events ${shape ? `WHERE ${shape}` : ""} ORDER BY seq DESC LIMIT ?`,
      );
      this.eventQueries.set(shape, statement);
    }
    return statement.all(...params, query.limit).map(toSecurityEventRow);
  }
}
