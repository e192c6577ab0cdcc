/**
 * @module storage/sqlite/sqlite-token-store
 * The SQLite backend of `TokenStore`: the `tokens` table. The row and its conversion are shared with PostgreSQL
 * (rows/token-rows.ts).
 */
import type { Database, Statement } from "better-sqlite3";
import type { TokenRow, TokenStore } from "../contracts/node-store.js";
import { toTokenDbRow, toTokenRow, type TokenDbRow } from "../rows/token-rows.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

export class SqliteTokenStore implements TokenStore {
  private readonly insert: Statement<[TokenDbRow]>;
  private readonly selectOne: Statement<[string], TokenDbRow>;
  private readonly selectAll: Statement<[], TokenDbRow>;
  private readonly revoke: Statement<[string, string]>;

  constructor(
    db: Database,
    private readonly hooks: SqliteStoreHooks,
  ) {
    this.insert = db.prepare(
      `INSERT INTO tokens (id, owner, scopes, name, secrets, created_at, expires_at, revoked_at)
         VALUES (@id, @owner, @scopes, @name, @secrets, @created_at, @expires_at, @revoked_at)`,
    );
    this.selectOne = db.prepare("SELECT * FROM tokens WHERE id = ?");
    this.selectAll = db.prepare("SELECT * FROM tokens ORDER BY created_at, id");
    this.revoke = db.prepare("UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?");
  }

  insertToken(token: TokenRow): Promise<void> {
    const row = toTokenDbRow(token);
    return this.hooks.enqueue(() => {
      this.insert.run(row);
    });
  }

  async getToken(id: string): Promise<TokenRow | null> {
    this.hooks.assertOpen();
    const row = this.selectOne.get(id);
    return row ? toTokenRow(row) : null;
  }

  async listTokens(): Promise<TokenRow[]> {
    this.hooks.assertOpen();
    return this.selectAll.all().map(toTokenRow);
  }

  revokeToken(id: string, at: string): Promise<boolean> {
    return this.hooks.enqueue(() => this.revoke.run(at, id).changes > 0);
  }
}
