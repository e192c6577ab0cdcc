/**
 * @module storage/rows/token-rows
 * The `tokens` table's row and its conversion to and from the contract's `TokenRow`, shared by the SQLite and
 * PostgreSQL backends (both store the same columns as the same text). Scopes and secret patterns are stored
 * as JSON text and parsed back with their schemas; a row that does not parse fails closed (never an
 * unlimited token).
 */
import { parseJson, ScopeSchema, SecretPatternSchema } from "@kai/protocol";
import type { TokenRow } from "../contracts/node-store.js";

const ScopesSchema = ScopeSchema.array();
const SecretPatternsSchema = SecretPatternSchema.array();

/** A `tokens` row as the database driver returns it (a type alias, so it fits the drivers' row constraints). */
export type TokenDbRow = {
  id: string;
  owner: string;
  scopes: string;
  name: string | null;
  /** JSON list of secret-name patterns, or null. */
  secrets: string | null;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
};

/** The columns of `TokenDbRow`, in the order `toTokenDbRow` writes them. */
export const TOKEN_COLUMNS = ["id", "owner", "scopes", "name", "secrets", "created_at", "expires_at", "revoked_at"] as const;

export function toTokenDbRow(token: TokenRow): TokenDbRow {
  return {
    id: token.id,
    owner: token.owner,
    scopes: JSON.stringify(token.scopes),
    name: token.name ?? null,
    secrets: token.secrets ? JSON.stringify(token.secrets) : null,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    revoked_at: token.revokedAt,
  };
}

export function toTokenRow(row: TokenDbRow): TokenRow {
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
