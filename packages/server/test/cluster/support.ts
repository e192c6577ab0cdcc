/**
 * Helpers of the cluster tests: a database with the cluster's tables, instances on small pools, a logger that
 * keeps its lines, and a wait that polls a condition (no timing assertions: the machine is shared and slow). Whole
 * servers as instances: support/instances.ts.
 */
import type pg from "pg";
import { migratePostgres } from "../../src/storage/postgres/pg-migrations.js";
import { PostgresCluster, type PostgresClusterOptions } from "../../src/cluster/postgres/pg-cluster.js";
import type { ClusterLogger } from "../../src/cluster/cluster-types.js";
import type { PostgresServer } from "../helpers/postgres-server.js";
import { testPool } from "../helpers/postgres-server.js";

export interface LogLine {
  level: "info" | "warn" | "error";
  msg: string;
  fields: object;
}

export function memoryLogger(lines: LogLine[] = []): ClusterLogger & { lines: LogLine[] } {
  const at = (level: LogLine["level"]) => (fields: object, msg = "") => void lines.push({ level, msg, fields });
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

/** A fresh database on `server` with the node's schema (cluster tables included). */
export async function clusterDatabase(server: PostgresServer): Promise<string> {
  const url = await server.createDatabase("cluster");
  const pool = testPool({ connectionString: url, max: 1 });
  try {
    await migratePostgres(pool);
  } finally {
    await pool.end();
  }
  return url;
}

export interface TestInstance {
  cluster: PostgresCluster;
  pool: pg.Pool;
  logger: ReturnType<typeof memoryLogger>;
  /** Closes the cluster (unless already closed) and its pool (unless already ended). */
  stop(): Promise<void>;
}

export function instance(url: string, name: string, options: Partial<PostgresClusterOptions> = {}): TestInstance {
  // A short connection timeout: while the server is down, a pool query fails quickly instead of hanging.
  const pool = testPool({ connectionString: url, max: 3, connectionTimeoutMillis: 2_000 });
  pool.on("error", () => undefined);
  const logger = memoryLogger();
  const cluster = new PostgresCluster({
    pool,
    clientConfig: { connectionString: url, connectionTimeoutMillis: 2_000 },
    instanceName: name,
    version: "test",
    heartbeatMs: 250,
    memberTimeoutMs: 3_000,
    pollIntervalMs: 500,
    logger,
    ...options,
  });
  let stopped = false;
  return {
    cluster,
    pool,
    logger,
    async stop() {
      if (stopped) return;
      stopped = true;
      await cluster.close();
      // A test may have ended the pool already (to cut the instance off).
      await pool.end().catch(() => undefined);
    },
  };
}

type NotYet = undefined | null | false;

/**
 * Polls `check` until it returns a value other than undefined/null/false, or fails after `timeoutMs` (with the
 * last error `check` threw, if any: a throw counts as "not yet").
 */
export async function waitFor<T>(what: string, check: () => T | NotYet | Promise<T | NotYet>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let last: unknown;
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
