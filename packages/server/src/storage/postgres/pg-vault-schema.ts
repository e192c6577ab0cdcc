/**
 * @module storage/postgres/pg-vault-schema
 * The credential vault's tables on PostgreSQL (part of migration 1 in `pg-migrations.ts`): the same tables
 * and columns as SQLite's (storage/sqlite/migrations.ts, versions 2 and 6), with PostgreSQL types: bytea for
 * blobs, bigint for the audit sequence and the counters, integer for small version numbers, text for the
 * ISO timestamps (kept byte for byte, as the audit MACs and listings repeat them).
 *
 * One table SQLite does not need: `vault_audit_key`, the check value of the audit key every instance must
 * share (several instances append to ONE MAC chain; see pg-vault-store.ts and vault/vault-service.ts).
 */
export const VAULT_SCHEMA = `
  -- One row: how the keyring is wrapped (KDF name, parameters, salt) and the wrapped keyring itself.
  CREATE TABLE vault_header (
    id             integer PRIMARY KEY CHECK (id = 1),
    format         integer NOT NULL,
    kdf            text NOT NULL,
    keyring        bytea NOT NULL,
    active_version integer NOT NULL,
    created_at     text NOT NULL,
    updated_at     text NOT NULL
  );

  -- Encryptions made under each data-key version; only ever incremented, so every instance's count adds up.
  CREATE TABLE vault_key_usage (
    version     integer PRIMARY KEY,
    encryptions bigint NOT NULL
  );

  -- Names and metadata are in clear (listing works without a key); values only in vault_secret_versions.
  CREATE TABLE vault_secrets (
    name         text PRIMARY KEY,
    version      integer NOT NULL,
    description  text,
    created_at   text NOT NULL,
    created_by   text NOT NULL,
    updated_at   text NOT NULL,
    updated_by   text NOT NULL,
    last_used_at text,
    last_used_by text,
    expires_at   text,
    head_mac     bytea
  );

  CREATE TABLE vault_secret_versions (
    name        text NOT NULL REFERENCES vault_secrets (name) ON DELETE CASCADE,
    version     integer NOT NULL,
    key_version integer NOT NULL,
    ciphertext  bytea NOT NULL,
    created_at  text NOT NULL,
    PRIMARY KEY (name, version)
  );

  -- Append-only, MAC-chained. seq is assigned by the vault (head + 1), because the MAC covers it; every
  -- instance appends under one advisory lock, so there is one chain. The head is kept apart too, so
  -- deleting the newest rows is detected.
  CREATE TABLE vault_audit (
    seq        bigint PRIMARY KEY,
    at         text NOT NULL,
    token_id   text,
    actor      text,
    operation  text NOT NULL,
    secret     text,
    outcome    text NOT NULL,
    reason     text,
    request_id text,
    mac        text NOT NULL
  );
  CREATE INDEX vault_audit_operation ON vault_audit (operation, seq);

  CREATE TABLE vault_audit_head (
    id  integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    mac text NOT NULL
  );

  -- The check value of the audit key the chain is written with (HKDF of the key, not the key): an instance
  -- started with another audit.key is refused instead of forking the chain.
  CREATE TABLE vault_audit_key (
    id        integer PRIMARY KEY CHECK (id = 1),
    key_check text NOT NULL
  );
`;
