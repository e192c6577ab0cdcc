/**
 * @module storage/rows/vault-rows
 * The vault's rows as the database drivers return them, and their conversion to the contract's types, shared
 * by the SQLite and PostgreSQL backends (the tables have the same columns on both). node-postgres returns
 * bigint as a string (it may exceed 2^53); the vault's sequences and counters never come near that, so every
 * number is read back with `Number` (a no-op for SQLite's numbers). Binary columns are copied into a fresh
 * Buffer, so a caller never holds the driver's memory.
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

export interface VersionDbRow {
  name: string;
  version: number;
  key_version: number;
  ciphertext: Buffer;
  created_at: string;
}

export interface AuditDbRow {
  /** A bigint column: a string from node-postgres, a number from SQLite. */
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

export const toVersion = (row: VersionDbRow): SecretVersionRow => ({
  name: row.name,
  version: Number(row.version),
  keyVersion: Number(row.key_version),
  ciphertext: Buffer.from(row.ciphertext),
  createdAt: row.created_at,
});

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
