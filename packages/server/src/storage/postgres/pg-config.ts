/**
 * @module storage/postgres/pg-config
 * The PostgreSQL backend's settings (`storage.postgres.*` in config/config-schema.ts) and what they become: the
 * `pg` connection settings every connection of the backend uses (the pool's, and the dedicated ones of the
 * listener, the migration runner and the cluster's leader lock), and the description the server logs, which
 * names host, port and database but never the user or the password.
 */
import { readFileSync } from "node:fs";
import type pg from "pg";

export interface PostgresTlsConfig {
  /** `disable`, `require` (encrypted, certificate not checked), `verify-full` (certificate and host name checked). */
  mode: "disable" | "require" | "verify-full";
  /** PEM file of the CA that signed the server's certificate. */
  caFile?: string;
  /** Client certificate and key (PEM files), when the server asks for one. */
  certFile?: string;
  keyFile?: string;
}

export interface PostgresStoreConfig {
  kind: "postgres";
  /** `postgres://user:password@host:5432/db`. An `sslmode` in it wins over `tls` (that is how `pg` reads URLs). */
  url: string;
  /** Connections of the pool (default 10); the listener and the cluster's leader lock hold one more each. */
  poolSize?: number;
  /** Longest a statement may run before PostgreSQL cancels it, ms (default 15 000; 0 = no limit). */
  statementTimeoutMs?: number;
  /** Longest wait for a connection, from the pool or a new one, ms (default 5 000). */
  connectTimeoutMs?: number;
  tls?: PostgresTlsConfig;
  /** Connections left for superusers and other clients when checking the budget (default 10). */
  reservedConnections?: number;
  /** Instances expected to share the database at most (default 1): the budget is this × (poolSize + 2). */
  expectedInstances?: number;
  logger?: { warn(msg: string): void; info?(msg: string): void };
}

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_RESERVED_CONNECTIONS = 10;
/** Connections an instance holds besides its pool: the listener, and the cluster's leader lock. */
export const DEDICATED_CONNECTIONS = 2;

/** The `ssl` setting of `pg` for the configured TLS mode (certificate files are read once, at open). */
function sslOf(tls: PostgresTlsConfig | undefined): pg.ClientConfig["ssl"] {
  if (!tls || tls.mode === "disable") return false;
  const files = {
    ...(tls.caFile !== undefined ? { ca: readFileSync(tls.caFile, "utf8") } : {}),
    ...(tls.certFile !== undefined ? { cert: readFileSync(tls.certFile, "utf8") } : {}),
    ...(tls.keyFile !== undefined ? { key: readFileSync(tls.keyFile, "utf8") } : {}),
  };
  // `require` encrypts without checking who answers (libpq's meaning); `verify-full` checks the chain and the host name.
  return tls.mode === "require" ? { ...files, rejectUnauthorized: false } : { ...files, rejectUnauthorized: true };
}

/** The settings of every connection the backend opens: same URL, TLS and timeouts. */
export function clientConfigOf(config: PostgresStoreConfig): pg.ClientConfig {
  const statementTimeout = config.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  return {
    connectionString: config.url,
    ssl: sslOf(config.tls),
    connectionTimeoutMillis: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    // Sent at connection start-up, so it holds for every statement of the session, even before the first query.
    // The idle-in-transaction limit frees the revision-counter lock of an instance that froze mid-transaction
    // (every other instance's registry writes wait for it); kAI's own transactions never idle that long.
    ...(statementTimeout > 0 ? { statement_timeout: statementTimeout, idle_in_transaction_session_timeout: statementTimeout } : {}),
    application_name: "kai",
    // A peer that vanished without closing (a cut network) is noticed by TCP keepalive instead of never.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/** `postgres (127.0.0.1:5432/kai, pool 10)`: where, without user or password (the URL may carry both). */
export function describeConfig(config: PostgresStoreConfig): string {
  const pool = config.poolSize ?? DEFAULT_POOL_SIZE;
  let where = "configured URL";
  try {
    const url = new URL(config.url);
    const host = decodeURIComponent(url.hostname) || url.searchParams.get("host") || "localhost";
    const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
    where = `${host}:${url.port || "5432"}${database ? `/${database}` : ""}`;
  } catch {
    // Not a URL (e.g. a libpq key=value string): say nothing about it rather than risk printing a password.
  }
  return `postgres (${where}, pool ${pool})`;
}
