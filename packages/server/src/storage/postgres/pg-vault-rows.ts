/**
 * @module storage/postgres/pg-vault-rows
 * The vault's rows as node-postgres returns them, and their conversion to the contract's types. node-postgres
 * returns bigint as a string (it may exceed 2^53); the vault's sequences and counters never come near that,
 * so they are read back as numbers. bytea comes back as a Buffer.
 */
import type { SecretMetaRow, SecretVersionRow, StoredAuditEntry, VaultHeaderRow } from "../contracts/vault-store.js";

export interface HeaderDbRow {
  format: number;
  kdf: string;
  keyring: Buffer;
  active_version: number;
  created_at: string;
  updated_at: string;
}

export interface SecretDbRow {
  name: string;
  version: number;
  description: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  last_used_at: string | null;
  last_used_by: string | null;
  expires_at: string | null;
  head_mac: Buffer | null;
}

/** A secret's row joined with one of its versions (the v_ columns are null for a secret without versions). */
export interface SecretWithVersionDbRow extends SecretDbRow {
  v_version: number | null;
  v_key_version: number | null;
  v_ciphertext: Buffer | null;
  v_created_at: string | null;
}

export interface AuditDbRow {
  seq: string | number;
  at: string;
  token_id: string | null;
  actor: string | null;
  operation: string;
  secret: string | null;
  outcome: StoredAuditEntry["outcome"];
  reason: string | null;
  request_id: string | null;
  mac: string;
}

export const toHeader = (row: HeaderDbRow): VaultHeaderRow => ({
  format: Number(row.format),
  kdf: row.kdf,
  keyring: Buffer.from(row.keyring),
  activeVersion: Number(row.active_version),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export const toMeta = (row: SecretDbRow): SecretMetaRow => ({
  name: row.name,
  version: Number(row.version),
  description: row.description,
  createdAt: row.created_at,
  createdBy: row.created_by,
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
  lastUsedAt: row.last_used_at,
  lastUsedBy: row.last_used_by,
  expiresAt: row.expires_at,
  headMac: row.head_mac === null ? null : Buffer.from(row.head_mac),
});

/** The version part of a joined row, or null for the row of a secret without versions. */
export const toJoinedVersion = (row: SecretWithVersionDbRow): SecretVersionRow | null =>
  row.v_version === null || row.v_ciphertext === null
    ? null
    : {
        name: row.name,
        version: Number(row.v_version),
        keyVersion: Number(row.v_key_version),
        ciphertext: Buffer.from(row.v_ciphertext),
        createdAt: row.v_created_at ?? "",
      };

export const toAudit = (row: AuditDbRow): StoredAuditEntry => ({
  seq: Number(row.seq),
  at: row.at,
  tokenId: row.token_id,
  actor: row.actor,
  operation: row.operation,
  secret: row.secret,
  outcome: row.outcome,
  reason: row.reason,
  requestId: row.request_id,
  mac: row.mac,
});

/**
 * The columns of a secret joined with its versions, newest version first per secret (names in "C" order: byte
 * order, the same order SQLite's listings have, whatever the database's default collation).
 */
export const SECRET_WITH_VERSIONS = `
  SELECT s.name, s.version, s.description, s.created_at, s.created_by, s.updated_at, s.updated_by, s.last_used_at,
         s.last_used_by, s.expires_at, s.head_mac, v.version AS v_version, v.key_version AS v_key_version,
         v.ciphertext AS v_ciphertext, v.created_at AS v_created_at
    FROM vault_secrets s LEFT JOIN vault_secret_versions v ON v.name = s.name`;
export const SECRET_ORDER = `ORDER BY s.name COLLATE "C", v.version DESC`;

/** Groups joined rows (in `SECRET_ORDER`) into secrets with their versions, newest first. */
export function groupSecrets(rows: SecretWithVersionDbRow[]): Array<{ meta: SecretMetaRow; versions: SecretVersionRow[] }> {
  const out: Array<{ meta: SecretMetaRow; versions: SecretVersionRow[] }> = [];
  for (const row of rows) {
    let last = out.at(-1);
    if (!last || last.meta.name !== row.name) {
      last = { meta: toMeta(row), versions: [] };
      out.push(last);
    }
    const version = toJoinedVersion(row);
    if (version) last.versions.push(version);
  }
  return out;
}
