/**
 * @module storage/postgres/pg-identity-store
 * The PostgreSQL backend of `IdentityStore` (contracts/identity-store.ts; tables of migration 3,
 * pg-identity-schema.ts), shared by every instance of a node. What is single use is consumed by one conditional
 * statement (`UPDATE … WHERE last_step < $step`, `… WHERE used_at IS NULL`, `DELETE … WHERE expires_at > $now`,
 * each `RETURNING`): a racing second statement on another instance waits for the first's row lock, re-checks its
 * condition on the committed row and finds nothing, so exactly one caller wins. A refresh rotation locks the
 * session row (`SELECT … FOR UPDATE`), decides with the rule every backend shares (rows/identity-rules.ts) and
 * writes the outcome, the rotation or the revocation of a reused token, in that same transaction. Uniqueness is the
 * database's (named unique constraints), so two instances inserting one username at once get one user and one
 * `IdentityConflict`.
 */
import type pg from "pg";
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
  type PasskeyDbRow,
  type RoleDbRow,
  type SecurityEventDbRow,
  type SessionDbRow,
  type TotpDbRow,
  type UserDbRow,
} from "../rows/identity-rows.js";
import type { PgDatabase } from "./pg-database.js";
import { isUniqueViolation } from "./pg-errors.js";

const placeholders = (count: number, from = 1): string => Array.from({ length: count }, (_, i) => `$${i + from}`).join(", ");
const insertSql = (table: string, columns: readonly string[]): string => `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${placeholders(columns.length)})`;
/** `UPDATE table SET every column but the key = $2 … WHERE key = $1`: the parameters are the row's values in column order. */
const updateSql = (table: string, columns: readonly string[]): string =>
  `UPDATE ${table} SET ${columns.slice(1).map((column, i) => `${column} = $${i + 2}`).join(", ")} WHERE ${columns[0]} = $1`;

/** Which uniqueness rule each named constraint keeps (pg-identity-schema.ts). */
const CONFLICTS: Readonly<Record<string, IdentityConflict["field"]>> = {
  users_username_unique: "username",
  users_did_unique: "did",
  users_sso_subject_unique: "ssoSubject",
  roles_name_unique: "role",
  passkeys_pkey: "passkey",
};

/** `IdentityConflict` for a violation of one of the identity unique constraints, else `error` itself. */
function asConflict(error: unknown): unknown {
  if (!isUniqueViolation(error)) return error;
  const field = CONFLICTS[(error as { constraint?: string }).constraint ?? ""];
  return field ? new IdentityConflict(field) : error;
}

const SQL = {
  insertUser: insertSql("users", USER_COLUMNS),
  updateUser: updateSql("users", USER_COLUMNS),
  userForUpdate: "SELECT * FROM users WHERE id = $1 FOR UPDATE",
  users: "SELECT * FROM users ORDER BY username_key, id",
  upsertRole: `${insertSql("roles", ROLE_COLUMNS)}
    ON CONFLICT (name) DO UPDATE SET description = excluded.description, scopes = excluded.scopes, updated_at = excluded.updated_at`,
  insertSession: insertSql("sessions", SESSION_COLUMNS),
  updateSession: updateSql("sessions", SESSION_COLUMNS),
  putTotp: `${insertSql("totp_factors", TOTP_COLUMNS)}
    ON CONFLICT (user_id) DO UPDATE SET sealed_secret = excluded.sealed_secret, confirmed = excluded.confirmed,
      last_step = excluded.last_step, created_at = excluded.created_at`,
  insertPasskey: insertSql("passkeys", PASSKEY_COLUMNS),
  insertChallenge: insertSql("challenges", CHALLENGE_COLUMNS),
  appendEvent: `${insertSql("security_events", SECURITY_EVENT_COLUMNS)} RETURNING seq`,
} as const;

export class PgIdentityStore implements IdentityStore {
  constructor(private readonly db: PgDatabase) {}

  // ---- users ----

  async insertUser(user: UserRow): Promise<void> {
    await this.db.query(SQL.insertUser, userValues(user)).catch((error: unknown) => {
      throw asConflict(error);
    });
  }

  updateUser(id: string, patch: UserPatch): Promise<UserRow | null> {
    return this.db
      .transaction(async (client) => {
        const { rows } = await client.query<UserDbRow>(SQL.userForUpdate, [id]);
        if (!rows[0]) return null;
        const next = mergeUser(toUserRow(rows[0]), patch);
        await client.query(SQL.updateUser, userValues(next));
        return next;
      })
      .catch((error: unknown) => {
        throw asConflict(error);
      });
  }

  deleteUser(id: string): Promise<boolean> {
    return this.db.transaction(async (client) => {
      const removed = await client.query<{ did: string | null }>("DELETE FROM users WHERE id = $1 RETURNING did", [id]);
      if (!removed.rows[0]) return false;
      await client.query("DELETE FROM sessions WHERE user_id = $1", [id]);
      await client.query("DELETE FROM totp_factors WHERE user_id = $1", [id]);
      await client.query("DELETE FROM recovery_codes WHERE user_id = $1", [id]);
      await client.query("DELETE FROM passkeys WHERE user_id = $1", [id]);
      await client.query("DELETE FROM challenges WHERE subject = $1 OR subject = $2", [id, removed.rows[0].did ?? id]);
      return true;
    });
  }

  private async oneUser(where: string, value: string): Promise<UserRow | null> {
    const rows = await this.db.query<UserDbRow>(`SELECT * FROM users WHERE ${where} = $1`, [value]);
    return rows[0] ? toUserRow(rows[0]) : null;
  }

  getUser(id: string): Promise<UserRow | null> {
    return this.oneUser("id", id);
  }

  getUserByUsername(username: string): Promise<UserRow | null> {
    return this.oneUser("username_key", foldName(username));
  }

  getUserByDid(did: string): Promise<UserRow | null> {
    return this.oneUser("did", did);
  }

  getUserBySsoSubject(subject: string): Promise<UserRow | null> {
    return this.oneUser("sso_subject", subject);
  }

  async listUsers(): Promise<UserRow[]> {
    return (await this.db.query<UserDbRow>(SQL.users)).map(toUserRow);
  }

  async countUsers(): Promise<number> {
    const rows = await this.db.query<{ n: string }>("SELECT count(*) AS n FROM users");
    return Number(rows[0]!.n);
  }

  // ---- custom roles ----

  async upsertRole(role: RoleRow): Promise<void> {
    await this.db.query(SQL.upsertRole, roleValues(role)).catch((error: unknown) => {
      throw asConflict(error);
    });
  }

  async deleteRole(name: string): Promise<boolean> {
    return (await this.db.query("DELETE FROM roles WHERE name = $1 RETURNING name", [name])).length > 0;
  }

  async listRoles(): Promise<RoleRow[]> {
    return (await this.db.query<RoleDbRow>("SELECT * FROM roles ORDER BY name")).map(toRoleRow);
  }

  // ---- sessions ----

  async insertSession(session: SessionRow): Promise<void> {
    await this.db.query(SQL.insertSession, sessionValues(session));
  }

  async getSession(id: string): Promise<SessionRow | null> {
    const rows = await this.db.query<SessionDbRow>({ name: "kai_get_session", text: "SELECT * FROM sessions WHERE id = $1", values: [id] });
    return rows[0] ? toSessionRow(rows[0]) : null;
  }

  async listSessions(userId: string): Promise<SessionRow[]> {
    return (await this.db.query<SessionDbRow>("SELECT * FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC", [userId])).map(toSessionRow);
  }

  async listActiveSessions(now: string): Promise<SessionRow[]> {
    const rows = await this.db.query<SessionDbRow>(
      "SELECT * FROM sessions WHERE revoked_at IS NULL AND idle_expires_at > $1 AND expires_at > $1 ORDER BY created_at DESC, id DESC",
      [now],
    );
    return rows.map(toSessionRow);
  }

  rotateRefresh(rotation: RotateRefresh): Promise<RotateOutcome> {
    return this.db.transaction(async (client: pg.PoolClient): Promise<RotateOutcome> => {
      // The row lock makes a racing rotation (on this or another instance) wait, then decide on this one's result.
      const { rows } = await client.query<SessionDbRow>("SELECT * FROM sessions WHERE id = $1 FOR UPDATE", [rotation.sessionId]);
      if (!rows[0]) return { outcome: "unknown" };
      const verdict = applyRotation(toSessionRow(rows[0]), rotation);
      if (verdict.outcome === "unknown") return verdict;
      if (verdict.changed) await client.query(SQL.updateSession, sessionValues(verdict.session));
      return { outcome: verdict.outcome, session: verdict.session };
    });
  }

  async revokeSession(id: string, at: string, reason: string): Promise<boolean> {
    const rows = await this.db.query("UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING id", [id, at, reason]);
    return rows.length > 0;
  }

  async revokeUserSessions(userId: string, at: string, reason: string, exceptId?: string): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>(
      `UPDATE sessions SET revoked_at = $2, revoked_reason = $3
       WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $4 RETURNING id`,
      [userId, at, reason, exceptId ?? null],
    );
    return rows.map((row) => row.id);
  }

  async pruneSessions(before: string): Promise<number> {
    const rows = await this.db.query("DELETE FROM sessions WHERE revoked_at < $1 OR idle_expires_at < $1 OR expires_at < $1 RETURNING id", [before]);
    return rows.length;
  }

  // ---- TOTP ----

  async putTotp(row: TotpRow): Promise<void> {
    await this.db.query(SQL.putTotp, totpValues(row));
  }

  async getTotp(userId: string): Promise<TotpRow | null> {
    const rows = await this.db.query<TotpDbRow>("SELECT * FROM totp_factors WHERE user_id = $1", [userId]);
    return rows[0] ? toTotpRow(rows[0]) : null;
  }

  async deleteTotp(userId: string): Promise<boolean> {
    return (await this.db.query("DELETE FROM totp_factors WHERE user_id = $1 RETURNING user_id", [userId])).length > 0;
  }

  async consumeTotpStep(userId: string, step: number): Promise<boolean> {
    const rows = await this.db.query("UPDATE totp_factors SET last_step = $2 WHERE user_id = $1 AND last_step < $2 RETURNING user_id", [userId, step]);
    return rows.length > 0;
  }

  // ---- recovery codes ----

  replaceRecoveryCodes(userId: string, codeHashes: string[], at: string): Promise<void> {
    return this.db.transaction(async (client) => {
      await client.query("DELETE FROM recovery_codes WHERE user_id = $1", [userId]);
      await client.query(
        `INSERT INTO recovery_codes (user_id, code_hash, used_at, created_at)
         SELECT $1, code_hash, NULL, $3 FROM unnest($2::text[]) AS code_hash ON CONFLICT DO NOTHING`,
        [userId, codeHashes, at],
      );
    });
  }

  async consumeRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean> {
    const rows = await this.db.query(
      "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING code_hash",
      [userId, codeHash, at],
    );
    return rows.length > 0;
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    const rows = await this.db.query<{ n: string }>("SELECT count(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", [userId]);
    return Number(rows[0]!.n);
  }

  // ---- passkeys ----

  async insertPasskey(row: PasskeyRow): Promise<void> {
    await this.db.query(SQL.insertPasskey, passkeyValues(row)).catch((error: unknown) => {
      throw asConflict(error);
    });
  }

  async getPasskey(id: string): Promise<PasskeyRow | null> {
    const rows = await this.db.query<PasskeyDbRow>("SELECT * FROM passkeys WHERE id = $1", [id]);
    return rows[0] ? toPasskeyRow(rows[0]) : null;
  }

  async listPasskeys(userId: string): Promise<PasskeyRow[]> {
    return (await this.db.query<PasskeyDbRow>("SELECT * FROM passkeys WHERE user_id = $1 ORDER BY created_at, id", [userId])).map(toPasskeyRow);
  }

  async touchPasskey(id: string, counter: number, at: string): Promise<void> {
    await this.db.query("UPDATE passkeys SET counter = $2, last_used_at = $3 WHERE id = $1", [id, counter, at]);
  }

  async deletePasskey(userId: string, id: string): Promise<boolean> {
    return (await this.db.query("DELETE FROM passkeys WHERE user_id = $1 AND id = $2 RETURNING id", [userId, id])).length > 0;
  }

  // ---- one-time challenges ----

  async putChallenge(row: ChallengeRow): Promise<void> {
    await this.db.query(SQL.insertChallenge, challengeValues(row));
  }

  async takeChallenge(id: string, kind: ChallengeKind, now: string): Promise<ChallengeRow | null> {
    const rows = await this.db.query<ChallengeDbRow>("DELETE FROM challenges WHERE id = $1 AND kind = $2 AND expires_at > $3 RETURNING *", [id, kind, now]);
    return rows[0] ? toChallengeRow(rows[0]) : null;
  }

  async pruneChallenges(now: string): Promise<number> {
    return (await this.db.query("DELETE FROM challenges WHERE expires_at <= $1 RETURNING id", [now])).length;
  }

  // ---- security log ----

  async appendSecurityEvent(event: NewSecurityEvent): Promise<SecurityEventRow> {
    const rows = await this.db.query<{ seq: string }>(SQL.appendEvent, securityEventValues(event));
    return { ...structuredClone(event), seq: Number(rows[0]!.seq) };
  }

  async listSecurityEvents(query: SecurityEventQuery): Promise<SecurityEventRow[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const add = (condition: string, value: unknown) => {
      values.push(value);
      conditions.push(`${condition} $${values.length}`);
    };
    if (query.before !== undefined) add("seq <", query.before);
    if (query.userId !== undefined) add("user_id =", query.userId);
    if (query.type !== undefined) add("type =", query.type);
    values.push(query.limit);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
    const rows = await this.db.query<SecurityEventDbRow>(`SELECT * FROM security_events ${where} ORDER BY seq DESC LIMIT $${values.length}`, values);
    return rows.map(toSecurityEventRow);
  }
}
