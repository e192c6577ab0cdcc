/**
 * @module storage/sqlite/migrations
 * The numbered schema migrations of the SQLite store. Each runs in its own transaction together with the
 * bump of `PRAGMA user_version`, so a crash mid-migration leaves the file at the previous version, never
 * half-way. Migrations are append-only: a released one is never edited, a change is a new number.
 */
import type { Database } from "better-sqlite3";
import { IDENTITY_SCHEMA } from "./sqlite-identity-schema.js";
import { TASK_RUNNER_SCHEMA, TASK_SCHEMA } from "./sqlite-task-store.js";
import { PROMPT_SCHEMA } from "./sqlite-prompt-store.js";
import { ARTIFACT_SCHEMA } from "./sqlite-artifact-store.js";
import { A2A_PUSH_SCHEMA } from "./sqlite-a2a-push-store.js";
import { PLUGIN_INSTALL_SCHEMA } from "./sqlite-plugin-install-store.js";
import { SEMANTIC_MEMORY_SCHEMA } from "./sqlite-semantic-store.js";

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "services, tag and capability indexes, event log, tokens, meta",
    sql: `
      -- The record lives in doc (JSON); the columns duplicate what queries filter on.
      -- heartbeat_at is kept outside doc so that saving heartbeats touches one small column.
      CREATE TABLE services (
        id           TEXT PRIMARY KEY NOT NULL,
        owner        TEXT NOT NULL,
        visibility   TEXT NOT NULL,
        type         TEXT NOT NULL,
        provider     TEXT,
        status       TEXT NOT NULL,
        ttl          INTEGER,
        heartbeat_at INTEGER,
        updated_at   INTEGER NOT NULL,
        revision     INTEGER NOT NULL,
        search       TEXT NOT NULL,
        doc          TEXT NOT NULL
      );
      CREATE INDEX services_owner ON services (owner, id);
      CREATE INDEX services_ttl ON services (id) WHERE ttl IS NOT NULL;
      -- Covers countServices (GROUP BY status with the visibility rule) so it does not read the wide rows.
      CREATE INDEX services_status ON services (status, visibility, owner);

      -- (value, service_id) order lets a filtered listing walk one value's services in id order and stop at the page size.
      CREATE TABLE service_tags (
        tag        TEXT NOT NULL,
        service_id TEXT NOT NULL,
        PRIMARY KEY (tag, service_id)
      ) WITHOUT ROWID;
      CREATE INDEX service_tags_service ON service_tags (service_id);

      CREATE TABLE service_capabilities (
        capability TEXT NOT NULL,
        service_id TEXT NOT NULL,
        PRIMARY KEY (capability, service_id)
      ) WITHOUT ROWID;
      CREATE INDEX service_capabilities_service ON service_capabilities (service_id);

      -- AUTOINCREMENT keeps the highest revision ever used in sqlite_sequence, so revisions are never
      -- reused even when compaction deletes every event.
      CREATE TABLE events (
        revision   INTEGER PRIMARY KEY AUTOINCREMENT,
        event      TEXT NOT NULL,
        service_id TEXT NOT NULL,
        doc        TEXT NOT NULL
      );

      -- Internal bookkeeping of the store (not the user-facing meta): e.g. how far events were compacted.
      CREATE TABLE store_state (
        key   TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL
      );

      CREATE TABLE tokens (
        id         TEXT PRIMARY KEY NOT NULL,
        owner      TEXT NOT NULL,
        scopes     TEXT NOT NULL,
        name       TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT
      );

      CREATE TABLE meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: "credential vault: header, secrets and their versions, key usage counters, audit chain; token secret patterns",
    sql: `
      -- Token secret-name patterns (JSON list); NULL = no limit beyond the token's scopes.
      ALTER TABLE tokens ADD COLUMN secrets TEXT;

      -- One row: how the keyring is wrapped (KDF name, parameters, salt) and the wrapped keyring itself.
      CREATE TABLE vault_header (
        id             INTEGER PRIMARY KEY CHECK (id = 1),
        format         INTEGER NOT NULL,
        kdf            TEXT NOT NULL,
        keyring        BLOB NOT NULL,
        active_version INTEGER NOT NULL,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL
      );

      -- Encryptions made under each data-key version: persisted so a restart cannot reset them to zero.
      CREATE TABLE vault_key_usage (
        version     INTEGER PRIMARY KEY NOT NULL,
        encryptions INTEGER NOT NULL
      );

      -- Names and metadata are in clear (listing works without a key); values only in vault_secret_versions.
      CREATE TABLE vault_secrets (
        name         TEXT PRIMARY KEY NOT NULL,
        version      INTEGER NOT NULL,
        description  TEXT,
        created_at   TEXT NOT NULL,
        created_by   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        updated_by   TEXT NOT NULL,
        last_used_at TEXT,
        last_used_by TEXT,
        expires_at   TEXT
      );

      CREATE TABLE vault_secret_versions (
        name        TEXT NOT NULL REFERENCES vault_secrets (name) ON DELETE CASCADE,
        version     INTEGER NOT NULL,
        key_version INTEGER NOT NULL,
        ciphertext  BLOB NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (name, version)
      ) WITHOUT ROWID;

      -- Append-only, MAC-chained. seq is assigned by the vault (head + 1), not by SQLite, because the
      -- MAC covers it. The head is kept in vault_audit_head too, so deleting the newest rows is detected.
      CREATE TABLE vault_audit (
        seq        INTEGER PRIMARY KEY NOT NULL,
        at         TEXT NOT NULL,
        token_id   TEXT,
        actor      TEXT,
        operation  TEXT NOT NULL,
        secret     TEXT,
        outcome    TEXT NOT NULL,
        reason     TEXT,
        request_id TEXT,
        mac        TEXT NOT NULL
      );
      CREATE INDEX vault_audit_operation ON vault_audit (operation, seq);

      CREATE TABLE vault_audit_head (
        id  INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        mac TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    description: "registration speed: drop the per-service reverse indexes of tags and capabilities, and the lease index",
    sql: `
      -- A service's tag and capability rows are now deleted by their exact keys (the store knows the old
      -- record), so the (service_id) indexes only cost a B-tree insert per row on every registration.
      DROP INDEX service_tags_service;
      DROP INDEX service_capabilities_service;
      -- Only start-up read it (listLeases); a scan of the table at start costs less than an index write per registration.
      DROP INDEX services_ttl;
    `,
  },
  {
    version: 4,
    description: "federation: peers with their sync cursors, and the records imported from them",
    sql: `
      CREATE TABLE federation_peers (
        did TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        name TEXT,
        trusted INTEGER NOT NULL,
        added_at TEXT NOT NULL,
        cursor INTEGER NOT NULL DEFAULT 0,
        epoch TEXT
      );
      -- Keyed by origin first: a peer's records are dropped together when it is removed or re-snapshotted.
      CREATE TABLE federation_imports (
        origin TEXT NOT NULL,
        service_id TEXT NOT NULL,
        origin_revision INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        statement TEXT NOT NULL,
        PRIMARY KEY (origin, service_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    description: "listing in registration order: services keyed by a creation sequence, tag and capability rows by it",
    sql: `
      -- seq is the revision that created the record (the rowid: INTEGER PRIMARY KEY); listings run in seq order.
      -- New records take the next revision, so every index this table and the term tables keep is appended at
      -- its end instead of at a random place: a registration dirties a few pages instead of one leaf per tag.
      CREATE TABLE services_v5 (
        seq          INTEGER PRIMARY KEY,
        id           TEXT NOT NULL UNIQUE,
        owner        TEXT NOT NULL,
        visibility   TEXT NOT NULL,
        type         TEXT NOT NULL,
        provider     TEXT,
        status       TEXT NOT NULL,
        ttl          INTEGER,
        heartbeat_at INTEGER,
        updated_at   INTEGER NOT NULL,
        revision     INTEGER NOT NULL,
        search       TEXT NOT NULL,
        doc          TEXT NOT NULL
      );
      -- Existing records keep the order they were inserted in, numbered 1..n. Every live record was created by
      -- an event of its own, so n is at most the current revision and later creations sort after them all.
      INSERT INTO services_v5 (seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc)
        SELECT row_number() OVER (ORDER BY rowid), id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc
        FROM services;

      CREATE TABLE service_tags_v5 (
        tag TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (tag, seq)
      ) WITHOUT ROWID;
      INSERT INTO service_tags_v5 (tag, seq) SELECT t.tag, s.seq FROM service_tags t JOIN services_v5 s ON s.id = t.service_id;
      CREATE TABLE service_capabilities_v5 (
        capability TEXT NOT NULL,
        seq        INTEGER NOT NULL,
        PRIMARY KEY (capability, seq)
      ) WITHOUT ROWID;
      INSERT INTO service_capabilities_v5 (capability, seq) SELECT c.capability, s.seq FROM service_capabilities c JOIN services_v5 s ON s.id = c.service_id;

      DROP TABLE service_tags;
      DROP TABLE service_capabilities;
      DROP TABLE services;
      ALTER TABLE services_v5 RENAME TO services;
      ALTER TABLE service_tags_v5 RENAME TO service_tags;
      ALTER TABLE service_capabilities_v5 RENAME TO service_capabilities;
      -- (owner) is (owner, seq) in the index: one owner's records in listing order, new ones appended.
      CREATE INDEX services_owner ON services (owner);
      CREATE INDEX services_status ON services (status, visibility, owner);
    `,
  },
  {
    version: 6,
    description: "vault: a MAC over each secret's head (current version, expiry, key version); docs/decisions/0009",
    sql: `
      -- NULL until the vault seals it: rows written before are sealed by the format-2 migration at the next unlock.
      ALTER TABLE vault_secrets ADD COLUMN head_mac BLOB;
    `,
  },
  {
    version: 7,
    description: "sign-in: users, custom roles, sessions, TOTP, recovery codes, passkeys, one-time challenges, security log",
    sql: IDENTITY_SCHEMA,
  },
  {
    version: 8,
    description: "agent mesh (issue 16): kCore's tasks and their numbered events",
    sql: TASK_SCHEMA,
  },
  {
    version: 9,
    description: "agent mesh (issue 16): each task's runner instance and an answer left for it",
    sql: TASK_RUNNER_SCHEMA,
  },
  {
    version: 10,
    description: "prompts (issue 17): prompts, their immutable versions and a full-text index",
    sql: PROMPT_SCHEMA,
  },
  {
    version: 11,
    description: "artifacts (issue 17): artifacts, their tags, reference-counted blobs and share links",
    sql: ARTIFACT_SCHEMA,
  },
  {
    version: 12,
    description: "memory (issue 17): memories with their namespace, metadata, expiry and vector",
    sql: SEMANTIC_MEMORY_SCHEMA,
  },
  // Keep entries in version order: migrate() skips every entry at or below the file's version.
  {
    version: 13,
    description: "agent mesh (issue 16): A2A push notification configs of kCore's tasks",
    sql: A2A_PUSH_SCHEMA,
  },
  {
    version: 14,
    description: "plugins (issue 18): the desired plugin installs every instance follows",
    sql: PLUGIN_INSTALL_SCHEMA,
  },
  {
    version: 15,
    description: "bulk registration speed (issue 19): services without an index on id; the store maps ids to seq in memory",
    sql: `
      -- Why: ids are chosen by callers (often random UUIDs), so each new record went into a random leaf of the id
      -- index, and a transaction of 1000 registrations rewrote ~650 of its pages (the largest share of the WAL:
      -- 21 µs a row against 13 µs without it, SQLite alone). The store already holds every stored id in memory
      -- (it answered "is this id new" from there) and is the only writer, so it now keeps id -> seq there and reads
      -- and writes rows by seq (the rowid). The UNIQUE constraint's index can only go with a rebuild of the table.
      CREATE TABLE services_v15 (
        seq          INTEGER PRIMARY KEY,
        id           TEXT NOT NULL,
        owner        TEXT NOT NULL,
        visibility   TEXT NOT NULL,
        type         TEXT NOT NULL,
        provider     TEXT,
        status       TEXT NOT NULL,
        ttl          INTEGER,
        heartbeat_at INTEGER,
        updated_at   INTEGER NOT NULL,
        revision     INTEGER NOT NULL,
        search       TEXT NOT NULL,
        doc          TEXT NOT NULL
      );
      INSERT INTO services_v15 (seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc)
        SELECT seq, id, owner, visibility, type, provider, status, ttl, heartbeat_at, updated_at, revision, search, doc FROM services;
      DROP TABLE services;
      ALTER TABLE services_v15 RENAME TO services;
      CREATE INDEX services_owner ON services (owner);
      CREATE INDEX services_status ON services (status, visibility, owner);
    `,
  },
];

/** The schema version this code writes. */
export const LATEST_VERSION = MIGRATIONS.reduce((max, migration) => Math.max(max, migration.version), 0);

/**
 * Brings the database up to `LATEST_VERSION`. Safe to call on every open: applied migrations are skipped.
 * Refuses a file written by a newer version, because this code would not know its schema.
 */
export function migrate(db: Database): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > LATEST_VERSION) {
    throw new Error(`database schema version ${current} is newer than this server supports (${LATEST_VERSION}); upgrade the server`);
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      // PRAGMA takes no bound parameters; the value is our own integer constant.
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return LATEST_VERSION;
}
