/**
 * @module storage/postgres/pg-connection-budget
 * Checks at start that the instances expected to share the database fit in its connection slots. Each instance
 * holds its pool plus two dedicated connections (the listener, the cluster's leader lock); a pool limit is per
 * instance, so N instances need N times it. Exceeding max_connections does not fail at start but later, under load,
 * as "too many clients" on whichever instance asks last: refusing to start with the numbers is kinder.
 */
import type pg from "pg";
import { DEDICATED_CONNECTIONS } from "./pg-config.js";

export interface ConnectionBudget {
  maxConnections: number;
  /** Slots the server keeps for superusers (superuser_reserved_connections) and, from PostgreSQL 16, reserved_connections. */
  serverReserved: number;
  /** Slots this node leaves for other clients (storage.postgres.reservedConnections). */
  reservedConnections: number;
  expectedInstances: number;
  poolSize: number;
  /** expectedInstances × (poolSize + 2). */
  needed: number;
  /** maxConnections − serverReserved − reservedConnections. */
  available: number;
}

export function describeBudget(budget: ConnectionBudget): string {
  return (
    `${budget.expectedInstances} instance(s) × (pool ${budget.poolSize} + ${DEDICATED_CONNECTIONS}) = ${budget.needed} connections of ` +
    `${budget.available} available (max_connections ${budget.maxConnections} − ${budget.serverReserved} reserved by the server − ${budget.reservedConnections} storage.postgres.reservedConnections)`
  );
}

/** Reads the server's limits and returns the budget; throws, saying what to change, when it does not fit. */
export async function checkConnectionBudget(
  client: pg.ClientBase,
  wanted: { poolSize: number; expectedInstances: number; reservedConnections: number },
): Promise<ConnectionBudget> {
  const { rows } = await client.query<{ max: string; superuser: string; reserved: string | null }>(
    `SELECT current_setting('max_connections') AS max, current_setting('superuser_reserved_connections') AS superuser,
            current_setting('reserved_connections', true) AS reserved`,
  );
  const row = rows[0]!;
  const maxConnections = Number(row.max);
  const serverReserved = Number(row.superuser) + Number(row.reserved ?? 0);
  const needed = wanted.expectedInstances * (wanted.poolSize + DEDICATED_CONNECTIONS);
  const available = maxConnections - serverReserved - wanted.reservedConnections;
  const budget: ConnectionBudget = { maxConnections, serverReserved, ...wanted, needed, available };
  if (needed > available) {
    const fittingPool = Math.floor(Math.max(0, available) / wanted.expectedInstances) - DEDICATED_CONNECTIONS;
    throw new Error(
      `PostgreSQL connection budget exceeded: ${describeBudget(budget)}. ` +
        `Lower storage.postgres.poolSize${fittingPool >= 2 ? ` (to ${fittingPool} at most)` : ""} or cluster.expectedInstances, ` +
        `lower storage.postgres.reservedConnections, or raise max_connections on the server (to ${needed + serverReserved + wanted.reservedConnections} at least).`,
    );
  }
  return budget;
}
