/**
 * @module storage/sqlite/sqlite-identity-schema
 * The tables of sign-in (SQLite migration 7, the contract in contracts/identity-store.ts; the columns are the ones
 * rows/identity-rows.ts reads and writes, the same as PostgreSQL's migration 3). Kept apart from migrations.ts so
 * the schema of one part reads as one piece. Times are ISO-8601 text, which sorts in time order.
 */

export const IDENTITY_SCHEMA = `
  -- username_key is the username folded to lower case: 'Alice' and 'alice' are one user.
  -- roles and preferences are JSON text.
  CREATE TABLE users (
    id                   TEXT PRIMARY KEY NOT NULL,
    username             TEXT NOT NULL,
    username_key         TEXT NOT NULL UNIQUE,
    kind                 TEXT NOT NULL,
    display_name         TEXT,
    password_hash        TEXT,
    did                  TEXT UNIQUE,
    sso_subject          TEXT UNIQUE,
    state                TEXT NOT NULL,
    roles                TEXT NOT NULL,
    must_change_password INTEGER NOT NULL,
    preferences          TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    password_changed_at  TEXT,
    last_sign_in_at      TEXT
  );

  -- Custom roles only (the built-in ones live in code); scopes are JSON text.
  CREATE TABLE roles (
    name        TEXT PRIMARY KEY NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    description TEXT,
    scopes      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
  );

  -- Refresh tokens are kept as SHA-256 hashes only: the current one and the one it replaced (grace window).
  CREATE TABLE sessions (
    id                    TEXT PRIMARY KEY NOT NULL,
    user_id               TEXT NOT NULL,
    method                TEXT NOT NULL,
    mfa                   INTEGER NOT NULL,
    refresh_hash          TEXT NOT NULL,
    previous_refresh_hash TEXT,
    rotated_at            TEXT NOT NULL,
    generation            INTEGER NOT NULL,
    created_at            TEXT NOT NULL,
    last_used_at          TEXT NOT NULL,
    idle_expires_at       TEXT NOT NULL,
    expires_at            TEXT NOT NULL,
    revoked_at            TEXT,
    revoked_reason        TEXT,
    user_agent            TEXT,
    address               TEXT
  );
  CREATE INDEX sessions_user ON sessions (user_id, created_at);

  -- The secret is sealed by the auth layer; last_step guards against a replayed code (-1: none yet).
  CREATE TABLE totp_factors (
    user_id       TEXT PRIMARY KEY NOT NULL,
    sealed_secret TEXT NOT NULL,
    confirmed     INTEGER NOT NULL,
    last_step     INTEGER NOT NULL,
    created_at    TEXT NOT NULL
  );

  CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
  ) WITHOUT ROWID;

  -- transports is JSON text.
  CREATE TABLE passkeys (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL,
    public_key   TEXT NOT NULL,
    counter      INTEGER NOT NULL,
    transports   TEXT NOT NULL,
    name         TEXT,
    backed_up    INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
  );
  CREATE INDEX passkeys_user ON passkeys (user_id);

  CREATE TABLE challenges (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT,
    data       TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX challenges_subject ON challenges (subject) WHERE subject IS NOT NULL;
  CREATE INDEX challenges_expiry ON challenges (expires_at);

  -- Append-only; AUTOINCREMENT never reuses a seq, so paging by "seq < before" stays exact. details is JSON text.
  CREATE TABLE security_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    type     TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    user_id  TEXT,
    username TEXT,
    actor    TEXT,
    address  TEXT,
    details  TEXT NOT NULL
  );
  CREATE INDEX security_events_user ON security_events (user_id, seq) WHERE user_id IS NOT NULL;
  CREATE INDEX security_events_type ON security_events (type, seq);
`;
