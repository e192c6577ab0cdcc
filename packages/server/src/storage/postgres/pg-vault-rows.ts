/**
 * @module storage/postgres/pg-vault-rows
 * PostgreSQL's own part of reading the vault: the query that joins a secret with its versions, and grouping its
 * rows back into secrets. The plain rows and their conversion are shared with SQLite (rows/vault-rows.ts).
 */
import type { SecretMetaRow, SecretVersionRow } from "../contracts/vault-store.js";
import { toMeta, toVersion, type SecretDbRow } from "../rows/vault-rows.js";

/** A secret's row joined with one of its versions (the v_ columns are null for a secret without versions). */
export interface SecretWithVersionDbRow extends SecretDbRow {
  v_version: number | null;
  v_key_version: number | null;
  v_ciphertext: Buffer | null;
  v_created_at: string | null;
}

/** The version part of a joined row, or null for the row of a secret without versions. */
export const toJoinedVersion = (row: SecretWithVersionDbRow): SecretVersionRow | null =>
  row.v_version === null || row.v_ciphertext === null
    ? null
    : toVersion({
        name: row.name,
        version: row.v_version,
        key_version: Number(row.v_key_version),
        ciphertext: row.v_ciphertext,
        created_at: row.v_created_at ?? "",
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
