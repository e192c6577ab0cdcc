/**
 * @module storage/postgres/pg-token-store
 * The PostgreSQL backend of `TokenStore`: the `tokens` table. The row and its conversion are shared with SQLite
 * (rows/token-rows.ts).
 */
import type { TokenRow, TokenStore } from "../contracts/node-store.js";
import { TOKEN_COLUMNS, toTokenDbRow, toTokenRow, type TokenDbRow } from "../rows/token-rows.js";
import type { PgDatabase } from "./pg-database.js";

const COLUMNS = TOKEN_COLUMNS.join(", ");

export class PgTokenStore implements TokenStore {
  constructor(private readonly db: PgDatabase) {}

  async insertToken(token: TokenRow): Promise<void> {
    const row = toTokenDbRow(token);
    await this.db.query(
      `INSERT INTO tokens (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      TOKEN_COLUMNS.map((column) => row[column]),
    );
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
