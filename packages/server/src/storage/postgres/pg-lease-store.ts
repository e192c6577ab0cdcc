/**
 * @module storage/postgres/pg-lease-store
 * The PostgreSQL backend of `LeaseStore`: the ttl and heartbeat columns of `services`. Heartbeats are saved without
 * a revision or an event (no one watches them) and in bulk: every `saveHeartbeats` call issued while a flush is
 * running joins the next one, and a flush is ONE `UPDATE … FROM unnest(…)` for all of them. Times only move forward
 * (GREATEST), whichever instance took the heartbeat and in whatever order flushes commit. The rows are locked in id
 * order, so two instances flushing overlapping heartbeats wait for each other instead of deadlocking.
 */
import type { ServiceRecord } from "@kai/protocol";
import type { LeaseRow, LeaseStore } from "../contracts/node-store.js";
import { StoreClosedError, type PgDatabase } from "./pg-database.js";
import { isRetryable } from "./pg-errors.js";
import { FlushLoop } from "./pg-flush-loop.js";

const SAVE_HEARTBEATS = `
  UPDATE services s SET heartbeat_at = GREATEST(s.heartbeat_at, b.at)
  FROM (
    SELECT l.id, beats.at FROM services l JOIN unnest($1::text[], $2::bigint[]) AS beats(id, at) ON l.id = beats.id
    ORDER BY l.id FOR UPDATE OF l
  ) b
  WHERE s.id = b.id`;

const LIST_LEASES = {
  name: "kai_list_leases",
  text: `SELECT id, ttl, heartbeat_at, status, owner, visibility, revision, updated_at FROM services
         WHERE ttl IS NOT NULL ORDER BY id COLLATE "C"`,
};

interface LeaseDbRow {
  id: string;
  ttl: number;
  heartbeat_at: string | null;
  status: ServiceRecord["status"];
  owner: string;
  visibility: ServiceRecord["visibility"];
  revision: string;
  updated_at: string;
  [column: string]: unknown;
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class PgLeaseStore implements LeaseStore {
  /** Heartbeats waiting for the next flush: the latest time per id. */
  private pending = new Map<string, number>();
  private waiters: Waiter[] = [];
  private readonly loop = new FlushLoop(() => this.waiters.length > 0, () => this.flushPending());

  constructor(private readonly db: PgDatabase) {}

  async listLeases(): Promise<LeaseRow[]> {
    const rows = await this.db.query<LeaseDbRow>(LIST_LEASES);
    return rows.map((row) => ({
      id: row.id,
      ttl: row.ttl,
      heartbeatAt: row.heartbeat_at === null ? null : Number(row.heartbeat_at),
      status: row.status,
      owner: row.owner,
      visibility: row.visibility,
      revision: Number(row.revision),
      updatedAt: Number(row.updated_at),
    }));
  }

  saveHeartbeats(beats: ReadonlyArray<{ id: string; at: number }>): Promise<void> {
    if (this.db.isClosed) return Promise.reject(new StoreClosedError());
    if (beats.length === 0) return Promise.resolve();
    for (const { id, at } of beats) {
      const known = this.pending.get(id);
      if (known === undefined || at > known) this.pending.set(id, Math.trunc(at));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.loop.schedule();
    });
  }

  /** Saves everything pending (and what arrives meanwhile); used by close. */
  drain(): Promise<void> {
    return this.loop.drain();
  }

  private flushPending(): Promise<void> {
    const beats = this.pending;
    const waiters = this.waiters;
    this.pending = new Map();
    this.waiters = [];
    return this.flush(beats, waiters);
  }

  private async flush(beats: Map<string, number>, waiters: Waiter[]): Promise<void> {
    try {
      // One statement is one transaction: the row locks its subquery takes in id order are held until it is done.
      // A registry batch deleting rows locks them in its own order; the rare deadlock that makes is simply run again.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.db.queryWhileClosing(SAVE_HEARTBEATS, [[...beats.keys()], [...beats.values()]]);
          break;
        } catch (error) {
          if (!isRetryable(error) || attempt >= 3) throw error;
        }
      }
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    for (const waiter of waiters) waiter.resolve();
  }
}
