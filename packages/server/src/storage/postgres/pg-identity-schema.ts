/**
 * @module storage/postgres/pg-identity-schema
 * The tables of sign-in on PostgreSQL (migration 3 in `pg-migrations.ts`; the contract in
 * contracts/identity-store.ts): the same tables and columns as SQLite's migration 7 (sqlite-identity-schema.ts),
 * read and written by the shared rows/identity-rows.ts, with PostgreSQL types: boolean, bigint for counters and the
 * log's sequence. Times are ISO-8601 text in the "C" collation, so comparisons and ordering are byte order, which is
 * time order, whatever the database's default collation. The unique constraints are named: a violation's constraint
 * name says which rule it broke (pg-identity-store.ts turns it into `IdentityConflict`).
 */
export const IDENTITY_SCHEMA = `
  -- username_key is the username folded to lower case: 'Alice' and 'alice' are one user.
  -- roles and preferences are JSON text.
  CREATE TABLE users (
    id                   text PRIMARY KEY,
    username             text NOT NULL,
    username_key         text COLLATE "C" NOT NULL CONSTRAINT users_username_unique UNIQUE,
    kind                 text NOT NULL,
    display_name         text,
    password_hash        text,
    did                  text CONSTRAINT users_did_unique UNIQUE,
    sso_subject          text CONSTRAINT users_sso_subject_unique UNIQUE,
    state                text NOT NULL,
    roles                text NOT NULL,
    must_change_password boolean NOT NULL,
    preferences          text NOT NULL,
    created_at           text COLLATE "C" NOT NULL,
    updated_at           text COLLATE "C" NOT NULL,
    password_changed_at  text COLLATE "C",
    last_sign_in_at      text COLLATE "C"
  );

  -- Custom roles only (the built-in ones live in code); scopes are JSON text.
  CREATE TABLE roles (
    name        text COLLATE "C" PRIMARY KEY,
    name_key    text COLLATE "C" NOT NULL CONSTRAINT roles_name_unique UNIQUE,
    description text,
    scopes      text NOT NULL,
    created_at  text COLLATE "C" NOT NULL,
    updated_at  text COLLATE "C" NOT NULL
  );

  -- Refresh tokens are kept as SHA-256 hashes only: the current one and the one it replaced (grace window).
  CREATE TABLE sessions (
    id                    text COLLATE "C" PRIMARY KEY,
    user_id               text NOT NULL,
    method                text NOT NULL,
    mfa                   boolean NOT NULL,
    refresh_hash          text NOT NULL,
    previous_refresh_hash text,
    rotated_at            text COLLATE "C" NOT NULL,
    generation            integer NOT NULL,
    created_at            text COLLATE "C" NOT NULL,
    last_used_at          text COLLATE "C" NOT NULL,
    idle_expires_at       text COLLATE "C" NOT NULL,
    expires_at            text COLLATE "C" NOT NULL,
    revoked_at            text COLLATE "C",
    revoked_reason        text,
    user_agent            text,
    address               text
  );
  CREATE INDEX sessions_user ON sessions (user_id, created_at);

  -- The secret is sealed by the auth layer; last_step guards against a replayed code (-1: none yet).
  CREATE TABLE totp_factors (
    user_id       text PRIMARY KEY,
    sealed_secret text NOT NULL,
    confirmed     boolean NOT NULL,
    last_step     bigint NOT NULL,
    created_at    text COLLATE "C" NOT NULL
  );

  CREATE TABLE recovery_codes (
    user_id    text NOT NULL,
    code_hash  text NOT NULL,
    used_at    text COLLATE "C",
    created_at text COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, code_hash)
  );

  -- transports is JSON text. The WebAuthn signature counter is unsigned 32-bit: bigint.
  CREATE TABLE passkeys (
    id           text COLLATE "C" PRIMARY KEY,
    user_id      text NOT NULL,
    public_key   text NOT NULL,
    counter      bigint NOT NULL,
    transports   text NOT NULL,
    name         text,
    backed_up    boolean NOT NULL,
    created_at   text COLLATE "C" NOT NULL,
    last_used_at text COLLATE "C"
  );
  CREATE INDEX passkeys_user ON passkeys (user_id);

  CREATE TABLE challenges (
    id         text PRIMARY KEY,
    kind       text NOT NULL,
    subject    text,
    data       text NOT NULL,
    expires_at text COLLATE "C" NOT NULL,
    created_at text COLLATE "C" NOT NULL
  );
  CREATE INDEX challenges_subject ON challenges (subject) WHERE subject IS NOT NULL;
  CREATE INDEX challenges_expiry ON challenges (expires_at);

  -- Append-only; an identity column never hands out a number twice, so paging by "seq < before" stays exact.
  -- details is JSON text.
  CREATE TABLE security_events (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       text COLLATE "C" NOT NULL,
    type     text NOT NULL,
    outcome  text NOT NULL,
    user_id  text,
    username text,
    actor    text,
    address  text,
    details  text NOT NULL
  );
  CREATE INDEX security_events_user ON security_events (user_id, seq) WHERE user_id IS NOT NULL;
  CREATE INDEX security_events_type ON security_events (type, seq);
`;
