/**
 * @module cluster/postgres/pg-membership
 * This instance's row in `cluster_members`, written every heartbeat, and the reads of who is alive and who
 * leads. Freshness is judged by the DATABASE clock alone (`seen_at = now()` on write, `now() - timeout` on read):
 * instances on machines whose clocks disagree still agree on who is alive.
 */
import type pg from "pg";
import type { ClusterMember, LeaderInfo } from "../cluster-types.js";
import { SINGLETON_JOB } from "./pg-cluster-keys.js";

export interface MembershipOptions {
  pool: pg.Pool;
  instanceId: string;
  instanceName: string;
  url: string | null;
  version: string;
  memberTimeoutMs: number;
}

/** Rows of instances not seen for this long are deleted: a crashed instance never deletes its own row. */
const FORGET_AFTER = "1 day";

interface MemberRow {
  instance_id: string;
  name: string;
  url: string | null;
  version: string;
  started_at: Date;
  seen_at: Date;
  info: Record<string, unknown>;
  leader: boolean;
}

export class PgMembership {
  private readonly info: Record<string, unknown> = {};

  constructor(private readonly options: MembershipOptions) {}

  report(info: Record<string, unknown>): void {
    Object.assign(this.info, info);
  }

  /** Writes the row: seen now (database time), with what `report` was given. */
  async beat(): Promise<void> {
    const { pool, instanceId, instanceName, url, version } = this.options;
    await pool.query(
      `INSERT INTO cluster_members (instance_id, name, url, version, started_at, seen_at, info)
       VALUES ($1, $2, $3, $4, now(), now(), $5::jsonb)
       ON CONFLICT (instance_id) DO UPDATE SET name = excluded.name, url = excluded.url, version = excluded.version,
         seen_at = now(), info = excluded.info`,
      [instanceId, instanceName, url, version, JSON.stringify(this.info)],
    );
  }

  /** Leaves: the others stop listing this instance at once instead of after the timeout. */
  async leave(): Promise<void> {
    await this.options.pool.query("DELETE FROM cluster_members WHERE instance_id = $1", [this.options.instanceId]);
  }

  /** Forgets instances gone for a day (the leader does it now and then). */
  async forgetOld(): Promise<number> {
    const result = await this.options.pool.query(`DELETE FROM cluster_members WHERE seen_at < now() - interval '${FORGET_AFTER}'`);
    return result.rowCount ?? 0;
  }

  async members(): Promise<ClusterMember[]> {
    const { rows } = await this.options.pool.query<MemberRow>(
      `SELECT m.instance_id, m.name, m.url, m.version, m.started_at, m.seen_at, m.info, (l.instance_id IS NOT NULL) AS leader
       FROM cluster_members m
       LEFT JOIN cluster_leader l ON l.job = $2 AND l.instance_id = m.instance_id
       WHERE m.seen_at > now() - make_interval(secs => $1)
       ORDER BY m.started_at, m.instance_id`,
      [this.options.memberTimeoutMs / 1000, SINGLETON_JOB],
    );
    return rows.map((row) => ({
      instanceId: row.instance_id,
      name: row.name,
      url: row.url,
      version: row.version,
      startedAt: row.started_at.toISOString(),
      lastSeenAt: row.seen_at.toISOString(),
      leader: row.leader,
      info: row.info,
    }));
  }

  /** The last elected leader, while it is still a live member. */
  async leader(): Promise<LeaderInfo | null> {
    const { rows } = await this.options.pool.query<{ instance_id: string; epoch: string; since: Date }>(
      `SELECT l.instance_id, l.epoch::text AS epoch, l.since
       FROM cluster_leader l
       JOIN cluster_members m ON m.instance_id = l.instance_id AND m.seen_at > now() - make_interval(secs => $1)
       WHERE l.job = $2`,
      [this.options.memberTimeoutMs / 1000, SINGLETON_JOB],
    );
    const row = rows[0];
    return row ? { instanceId: row.instance_id, epoch: Number(row.epoch), since: row.since.toISOString() } : null;
  }
}
