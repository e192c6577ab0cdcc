/**
 * @module storage/postgres/pg-token-store
 * The PostgreSQL backend of `TokenStore`: the `tokens` table. Scopes and secret patterns are stored as JSON text
 * and parsed back with their schemas; a row that does not parse fails closed (never an unlimited token).
 */
import { parseJson, ScopeSchema, SecretPatternSchema } from "@kai/protocol";
import type { TokenRow, TokenStore } from "../contracts/node-store.js";
import type { PgDatabase } from "./pg-database.js";

const ScopesSchema = ScopeSchema.array();
const SecretPatternsSchema = SecretPatternSchema.array();

interface TokenDbRow {
  id: string;
  owner: string;
  scopes: string;
  name: string | null;
  /** JSON list of secret-name patterns, or null. */
  secrets: string | null;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  [column: string]: unknown;
}

const COLUMNS = "id, owner, scopes, name, secrets, created_at, expires_at, revoked_at";

export class PgTokenStore implements TokenStore {
  constructor(private readonly db: PgDatabase) {}

  async insertToken(token: TokenRow): Promise<void> {
    await this.db.query(`INSERT INTO tokens (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
      token.id,
      token.owner,
      JSON.stringify(token.scopes),
      token.name ?? null,
      token.secrets ? JSON.stringify(token.secrets) : null,
      token.createdAt,
      token.expiresAt,
      token.revokedAt,
    ]);
  }

  async getToken(id: string): Promise<TokenRow | null> {
    const rows = await this.db.query<TokenDbRow>({ name: "kai_get_token", text: `SELECT ${COLUMNS} FROM tokens WHERE id = $1`, values: [id] });
    return rows[0] ? toTokenRow(rows[0]) : null;
  }

  async listTokens(): Promise<TokenRow[]> {
    const rows = await this.db.query<TokenDbRow>(`SELECT ${COLUMNS} FROM tokens ORDER BY created_at COLLATE "C", id COLLATE "C"`);
    return rows.map(toTokenRow);
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    // The first revocation time stays: revoking twice (from two instances) does not move it.
    const rows = await this.db.query("UPDATE tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING id", [at, id]);
    return rows.length > 0;
  }
}

function toTokenRow(row: TokenDbRow): TokenRow {
  const json = parseJson(row.scopes);
  const scopes = ScopesSchema.safeParse(json.ok ? json.value : null);
  if (!scopes.success) throw new Error(`stored token ${row.id} has invalid scopes`);
  const token: TokenRow = {
    id: row.id,
    owner: row.owner,
    scopes: scopes.data,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
  if (row.name !== null) token.name = row.name;
  if (row.secrets !== null) {
    const patterns = parseJson(row.secrets);
    const parsed = SecretPatternsSchema.safeParse(patterns.ok ? patterns.value : null);
    // Fail closed: a token whose limits cannot be read must not be treated as unlimited.
    if (!parsed.success) throw new Error(`stored token ${row.id} has invalid secret patterns`);
    token.secrets = parsed.data;
  }
  return token;
}
