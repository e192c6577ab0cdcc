/**
 * @module storage/sqlite/sqlite-lease-store
 * The SQLite backend of `LeaseStore`: the ttl and heartbeat columns of `services`, read by the lease
 * monitor and written without a new revision (a heartbeat is not a change anyone watches).
 */
import type { ServiceRecord } from "@kai/protocol";
import type { Database, Statement } from "better-sqlite3";
import type { LeaseRow, LeaseStore } from "../contracts/node-store.js";
import type { SqliteStoreHooks } from "./store-hooks.js";

interface LeaseDbRow {
  id: string;
  ttl: number;
  heartbeat_at: number | null;
  status: ServiceRecord["status"];
  owner: string;
  visibility: ServiceRecord["visibility"];
  revision: number;
  updated_at: number;
}

export class SqliteLeaseStore implements LeaseStore {
  private readonly saveHeartbeat: Statement<[number, number, string]>;
  private readonly selectLeases: Statement<[], LeaseDbRow>;

  /** `rowSeq`: the seq of a service's row (the service record store keeps them; there is no index on id). */
  constructor(
    db: Database,
    private readonly hooks: SqliteStoreHooks,
    private readonly rowSeq: (id: string) => number | undefined,
  ) {
    // Heartbeat times only move forward: a late batch must not undo a newer registration's time.
    this.saveHeartbeat = db.prepare("UPDATE services SET heartbeat_at = max(coalesce(heartbeat_at, 0), ?) WHERE seq = ? AND id = ?");
    this.selectLeases = db.prepare("SELECT id, ttl, heartbeat_at, status, owner, visibility, revision, updated_at FROM services WHERE ttl IS NOT NULL ORDER BY id");
  }

  async listLeases(): Promise<LeaseRow[]> {
    this.hooks.assertOpen();
    return this.selectLeases.all().map((row) => ({
      id: row.id,
      ttl: row.ttl,
      heartbeatAt: row.heartbeat_at,
      status: row.status,
      owner: row.owner,
      visibility: row.visibility,
      revision: row.revision,
      updatedAt: row.updated_at,
    }));
  }

  saveHeartbeats(beats: ReadonlyArray<{ id: string; at: number }>): Promise<void> {
    const copy = beats.map((beat) => ({ id: beat.id, at: beat.at }));
    return this.hooks.enqueue(() => {
      // Looked up when the batch runs, not before: a service registered since is then known. Runs on this connection
      // only while no transaction of the writer thread is open (write-batcher.ts), so every row is in the store's map.
      for (const beat of copy) {
        const seq = this.rowSeq(beat.id);
        if (seq !== undefined) this.saveHeartbeat.run(beat.at, seq, beat.id);
      }
    });
  }
}
