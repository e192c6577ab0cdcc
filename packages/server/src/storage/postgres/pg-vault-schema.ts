/**
 * @module storage/postgres/pg-vault-schema
 * The credential vault's tables on PostgreSQL (part of migration 1 in `pg-migrations.ts`): the same tables
 * and columns as SQLite's (storage/sqlite/migrations.ts), with PostgreSQL types (bytea, bigint).
 */
export const VAULT_SCHEMA = `
  -- filled in by the vault store's author
`;
