/**
 * @module storage/sqlite/sqlite-token-store
 * The SQLite backend of `TokenStore`: the `tokens` table. Scopes and secret patterns are stored as JSON
 * and parsed back with their schemas; a row that does not parse fails closed (never an unlimited token).
 */
import { parseJson, ScopeSchema, SecretPatternSchema } from "@kai/protocol";
import type { Database, Statement } from "better-sqlite3";
import type { TokenRow, TokenStore } from "../contracts/node-store.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

const ScopesSchema = ScopeSchema.array();
const SecretPatternsSchema = SecretPatternSchema.array();

interface TokenDbRow {
  id: string;
  owner: string;
  scopes: string;
  name: string | null;
  /** JSON list of secret-name patterns, or NULL. */
  secrets: string | null;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}

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
    const row: TokenDbRow = {
      id: token.id,
      owner: token.owner,
      scopes: JSON.stringify(token.scopes),
      name: token.name ?? null,
      secrets: token.secrets ? JSON.stringify(token.secrets) : null,
      created_at: token.createdAt,
      expires_at: token.expiresAt,
      revoked_at: token.revokedAt,
    };
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
    const json = parseJson(row.secrets);
    const patterns = SecretPatternsSchema.safeParse(json.ok ? json.value : null);
    // Fail closed: a token whose limits cannot be read must not be treated as unlimited.
    if (!patterns.success) throw new Error(`stored token ${row.id} has invalid secret patterns`);
    token.secrets = patterns.data;
  }
  return token;
}
