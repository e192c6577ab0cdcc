/**
 * @module cluster/limits/pg-limits-schema
 * The one table the PostgreSQL rate counters live in, and its creation at start. One row per open window
 * (counter, key): the total so far and when the window ends, on the database's clock.
 *
 * UNLOGGED: a counter is worth less than the WAL write it would cost on every hit. After a crash of PostgreSQL
 * the table comes back empty (every window starts again: at most one extra window's worth is admitted), and a
 * standby promoted to primary has it empty too. Nothing else is lost: the table holds only counts.
 *
 * The statement is idempotent (`IF NOT EXISTS`) and runs under a transaction advisory lock, because two
 * instances starting at once can otherwise both try to create the table's row type and one fails (23505).
 * The same DDL may also live in the migrations; running it again here is then a no-op.
 */
import type pg from "pg";

export const LIMITS_TABLE = "rate_limit_windows";

export const LIMITS_SCHEMA = `
  CREATE UNLOGGED TABLE IF NOT EXISTS ${LIMITS_TABLE} (
    counter   text        NOT NULL,
    key       text        NOT NULL,
    total     bigint      NOT NULL,
    resets_at timestamptz NOT NULL,
    PRIMARY KEY (counter, key)
  );
  CREATE INDEX IF NOT EXISTS ${LIMITS_TABLE}_resets_at ON ${LIMITS_TABLE} (resets_at);
`;

/** Advisory lock key of the table's creation ("kai" limits, schema 1); any fixed number no other lock uses. */
const SCHEMA_LOCK = 0x6b61_6901;

export async function ensureLimitsTable(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [SCHEMA_LOCK]);
    await client.query(LIMITS_SCHEMA);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
