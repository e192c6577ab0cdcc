/**
 * @module cluster/postgres/pg-leadership
 * Leadership for the singleton jobs: the instance whose dedicated connection holds the session advisory lock
 * `(LOCK_NAMESPACE, LEADER_LOCK)` leads. PostgreSQL frees the lock when that connection dies (kill -9, a
 * crashed host once keepalive gives up), and the others try for it every heartbeat, so one of them leads a
 * heartbeat or so later.
 *
 * Having the lock is not yet leading: the new leader first bumps the fencing epoch in `cluster_leader` (on the
 * same connection, so it cannot bump without the lock) and only then tells its listeners. It steps down by
 * itself — listeners told false before anything else — when its connection fails, when it cannot write its
 * membership row for longer than the member timeout, or when the leadership row names a newer epoch.
 *
 * Advisory locks are re-entrant within a session: a second `pg_try_advisory_lock` would succeed and need two
 * unlocks. So the lock is tried only while this instance neither holds it nor is trying (`holding`, `ticking`).
 */
import type { ClusterLogger, Leadership } from "../cluster-types.js";
import { Listeners } from "../cluster-types.js";
import type { DedicatedConnection } from "./dedicated-connection.js";
import { LEADER_LOCK, LOCK_NAMESPACE, SINGLETON_JOB } from "./pg-cluster-keys.js";
import { errorText } from "./pg-errors.js";

export class PgLeadership implements Leadership {
  private leading = false;
  private currentEpoch = 0;
  /** Connection generation that holds the lock, or null. */
  private holding: number | null = null;
  private ticking: Promise<void> | null = null;
  private closed = false;
  private readonly listeners: Listeners<boolean>;

  constructor(
    private readonly connection: DedicatedConnection,
    private readonly instanceId: string,
    private readonly logger: ClusterLogger,
  ) {
    this.listeners = new Listeners<boolean>(logger, "leadership");
  }

  get isLeader(): boolean {
    return this.leading;
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    return this.listeners.add(listener);
  }

  /**
   * One step of the heartbeat: a leader checks it still is; anyone else tries for the lock while `eligible()`
   * (asked again before claiming: the membership heartbeat may fail while the bid is in flight).
   */
  tick(eligible: () => boolean): Promise<void> {
    if (this.ticking || this.closed || !this.connection.connected) return this.ticking ?? Promise.resolve();
    this.ticking = (async () => {
      try {
        if (this.leading) await this.verify();
        else if (eligible() && this.holding === null) await this.tryAcquire(eligible);
      } catch (error) {
        // The connection's own failure handling has already run (onConnectionLost); nothing else to undo.
        this.logger.warn({ err: errorText(error) }, "leadership check failed");
      }
    })().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  /** The dedicated connection broke: its lock is gone with it, so is the leadership. */
  onConnectionLost(): void {
    this.holding = null;
    this.stepDown("the cluster connection was lost");
  }

  /**
   * Stops leading now: listeners are told false first, then the lock is released (or, if the unlock fails, the
   * connection dropped, which frees it too), so another instance can take over without waiting.
   */
  stepDown(reason: string): void {
    if (this.leading) {
      this.leading = false;
      this.logger.warn({ epoch: this.currentEpoch, reason }, "stepped down as cluster leader");
      this.listeners.emit(false);
    }
    void this.release();
  }

  /** Graceful and final: stop leading and unlock explicitly, so the next leader is elected at once. */
  async resign(): Promise<void> {
    this.closed = true;
    // A bid in flight finishes first (and, seeing `closed`, claims nothing); then whatever it holds is released.
    await this.ticking;
    if (this.leading) {
      this.leading = false;
      this.logger.info({ epoch: this.currentEpoch }, "handing over cluster leadership");
      this.listeners.emit(false);
    }
    await this.release();
  }

  private async release(): Promise<void> {
    const generation = this.holding;
    if (generation === null) return;
    this.holding = null;
    if (this.connection.generation !== generation || !this.connection.connected) return;
    try {
      await this.connection.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_NAMESPACE, LEADER_LOCK]);
    } catch {
      // The failed query dropped the connection, and the server freed the lock with it.
    }
  }

  private async tryAcquire(eligible: () => boolean): Promise<void> {
    const generation = this.connection.generation;
    const { rows } = await this.connection.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [LOCK_NAMESPACE, LEADER_LOCK]);
    if (!rows[0]?.ok) return;
    this.holding = generation;
    // The epoch is bumped on the lock's own connection: if that connection is gone, so is this bump.
    const bumped = await this.connection.query<{ epoch: string }>(
      `INSERT INTO cluster_leader (job, instance_id, epoch, since) VALUES ($1, $2, 1, now())
       ON CONFLICT (job) DO UPDATE SET epoch = cluster_leader.epoch + 1, instance_id = excluded.instance_id, since = now()
       RETURNING epoch::text AS epoch`,
      [SINGLETON_JOB, this.instanceId],
    );
    // Lost (or stepped down) between the two statements: the lock went with the connection; claim nothing.
    if (this.holding !== generation || this.connection.generation !== generation || !this.connection.connected) return;
    // Closing, or no longer fit to lead: give the lock back (the epoch bump is harmless, epochs only need to grow).
    if (this.closed || !eligible()) {
      await this.release();
      return;
    }
    this.currentEpoch = Number(bumped.rows[0]!.epoch);
    this.leading = true;
    this.logger.info({ epoch: this.currentEpoch }, "became cluster leader");
    this.listeners.emit(true);
  }

  /** The leadership row still names this instance and epoch; else a newer leader exists and this one steps down. */
  private async verify(): Promise<void> {
    const { rows } = await this.connection.query<{ instance_id: string; epoch: string }>(
      "SELECT instance_id, epoch::text AS epoch FROM cluster_leader WHERE job = $1",
      [SINGLETON_JOB],
    );
    const row = rows[0];
    if (!this.leading) return;
    if (!row || row.instance_id !== this.instanceId || Number(row.epoch) !== this.currentEpoch) {
      this.stepDown(`the leadership row names epoch ${row?.epoch ?? "none"}`);
    }
  }
}
