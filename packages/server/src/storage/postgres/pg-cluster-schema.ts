/**
 * @module storage/postgres/pg-cluster-schema
 * The tables several instances of one node coordinate through (part of migration 1 in `pg-migrations.ts`):
 * membership rows, the leadership record (fencing epoch), and the signal log with its current-state table.
 * Used by cluster/postgres/.
 */
export const CLUSTER_SCHEMA = `
  CREATE TABLE cluster_members (
    instance_id text PRIMARY KEY,
    name        text NOT NULL,
    url         text,
    version     text NOT NULL,
    started_at  timestamptz NOT NULL,
    seen_at     timestamptz NOT NULL,
    info        jsonb NOT NULL DEFAULT '{}'::jsonb
  );
  -- One row per singleton-job group ('singletons'); epoch only ever grows (fencing token).
  CREATE TABLE cluster_leader (
    job         text PRIMARY KEY,
    instance_id text NOT NULL,
    epoch       bigint NOT NULL,
    since       timestamptz NOT NULL
  );
  -- Signals that are not registry events. ids are assigned under an advisory lock, so they commit in order.
  CREATE TABLE cluster_signals (
    id      bigint PRIMARY KEY,
    topic   text NOT NULL,
    payload jsonb NOT NULL,
    origin  text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
  );
  -- The latest value per (topic, key) for topics that are state (health verdicts), read by an instance at start.
  CREATE TABLE cluster_state (
    topic      text NOT NULL,
    key        text NOT NULL,
    value      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, key)
  );
`;
