/**
 * @module cluster/postgres/pg-cluster
 * Several instances of one node on one PostgreSQL, acting as one: this instance's membership row, its bid for
 * leadership, and its end of the signal bus, driven by one heartbeat timer and one poll timer.
 *
 * Connections: the pool (shared with the store) for membership and signal reads and writes, plus ONE dedicated
 * client for the leader lock and LISTEN (`DedicatedConnection`). Every time comparison uses the database clock.
 *
 * The heartbeat (every `heartbeatMs`) writes the membership row, then runs one query on the dedicated
 * connection: the leader checks the leadership row still names it, the others try for the lock. A leader that
 * has not written its row for `memberTimeoutMs` steps down (it may be cut off from the database while its lock
 * connection lingers), and nobody bids while its own row is failing. Now and then the leader prunes old
 * signals and forgotten members.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Cluster, ClusterLogger, ClusterMember, LeaderInfo } from "../cluster-types.js";
import { DedicatedConnection } from "./dedicated-connection.js";
import { PgLeadership } from "./pg-leadership.js";
import { PgMembership } from "./pg-membership.js";
import { PgSignals } from "./pg-signals.js";
import { SIGNAL_CHANNEL } from "./pg-cluster-keys.js";
import { asStorageError, errorText } from "./pg-errors.js";

export interface PostgresClusterOptions {
  /** The store's pool: membership and signals borrow from it. */
  pool: pg.Pool;
  /** How to open the dedicated connection (the same database as the pool). */
  clientConfig: pg.ClientConfig;
  instanceName: string;
  url?: string | null;
  version: string;
  /** How often the membership row is written and leadership is tried for, ms (default 1000). */
  heartbeatMs?: number;
  /** A member not seen for this long is gone; a leader unable to write its row this long steps down, ms (default 5000). */
  memberTimeoutMs?: number;
  /** How often the signal log is read without a notification, ms (default 2000). */
  pollIntervalMs?: number;
  /** How long signals stay in the log, ms (default 10 minutes). */
  signalRetentionMs?: number;
  logger: ClusterLogger;
}

/** How often the leader prunes the signal log and forgotten members, ms. */
const PRUNE_EVERY_MS = 60_000;

export class PostgresCluster implements Cluster {
  readonly mode = "postgres" as const;
  readonly instanceId = randomUUID();
  readonly instanceName: string;
  readonly leadership: PgLeadership;
  readonly signals: PgSignals;

  private readonly membership: PgMembership;
  private readonly connection: DedicatedConnection;
  private readonly heartbeatMs: number;
  private readonly memberTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly logger: ClusterLogger;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  /** performance.now() of the last membership write that succeeded: this process's own clock, measuring only its own outage. */
  private lastBeatOk = 0;
  private beatHealthy = false;
  private lastPrune = -Infinity;
  private pruning: Promise<void> | null = null;
  private started = false;
  private closed = false;

  constructor(options: PostgresClusterOptions) {
    this.instanceName = options.instanceName;
    this.heartbeatMs = options.heartbeatMs ?? 1_000;
    this.memberTimeoutMs = options.memberTimeoutMs ?? 5_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 2_000;
    this.logger = options.logger;
    if (this.memberTimeoutMs <= this.heartbeatMs) throw new RangeError("cluster: memberTimeoutMs must be longer than heartbeatMs");
    this.membership = new PgMembership({
      pool: options.pool,
      instanceId: this.instanceId,
      instanceName: options.instanceName,
      url: options.url ?? null,
      version: options.version,
      memberTimeoutMs: this.memberTimeoutMs,
    });
    this.signals = new PgSignals({
      pool: options.pool,
      instanceId: this.instanceId,
      logger: options.logger,
      retentionMs: options.signalRetentionMs ?? 600_000,
    });
    // The server drops a silent client after idle + interval × count seconds; well inside the member timeout
    // (but never under 3 s, or a busy server could drop a healthy leader).
    const deadSeconds = Math.max(3, Math.floor(this.memberTimeoutMs / 1000));
    this.connection = new DedicatedConnection({
      clientConfig: options.clientConfig,
      applicationName: `kai-cluster ${options.instanceName}`.slice(0, 63),
      channel: SIGNAL_CHANNEL,
      // The leader asks every heartbeat; no answer within half the member timeout means the connection is dead.
      queryTimeoutMs: Math.max(this.heartbeatMs, Math.floor(this.memberTimeoutMs / 2)),
      keepalive: { idleSeconds: Math.max(1, deadSeconds - 3), intervalSeconds: 1, count: 3 },
      maxBackoffMs: Math.max(2_000, this.heartbeatMs),
      logger: options.logger,
      onConnected: () => {
        // Notifications sent while the connection was down are gone: read the log, then bid at once.
        this.signals.wake();
        this.tick();
      },
      onLost: () => this.leadership.onConnectionLost(),
      onNotification: () => this.signals.wake(),
    });
    this.leadership = new PgLeadership(this.connection, this.instanceId, options.logger);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.membership.beat();
      this.lastBeatOk = performance.now();
      this.beatHealthy = true;
      await this.signals.begin();
      await this.connection.start();
    } catch (error) {
      await this.connection.close();
      this.closed = true;
      throw asStorageError(error, "joining the cluster");
    }
    this.heartbeatTimer = setInterval(() => this.tick(), this.heartbeatMs);
    this.pollTimer = setInterval(() => this.signals.wake(), this.pollIntervalMs);
    this.logger.info({ instanceId: this.instanceId, name: this.instanceName }, "joined the cluster");
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.beating;
    await this.pruning;
    // Unlock first, explicitly: the next leader is elected on its next heartbeat, not after a timeout.
    await this.leadership.resign();
    await this.signals.stop();
    await this.connection.close();
    await this.membership.leave().catch((error: unknown) => this.logger.warn({ err: errorText(error) }, "could not remove this instance's membership row"));
  }

  members(): Promise<ClusterMember[]> {
    return this.membership.members().catch((error: unknown) => {
      throw asStorageError(error, "listing cluster members");
    });
  }

  leader(): Promise<LeaderInfo | null> {
    return this.membership.leader().catch((error: unknown) => {
      throw asStorageError(error, "reading the cluster leader");
    });
  }

  report(info: Record<string, unknown>): void {
    this.membership.report(info);
  }

  /** One heartbeat; a beat still in flight (a slow database) is not doubled, but the step-down check still runs. */
  private tick(): void {
    if (this.closed || !this.started) return;
    if (!this.beating) {
      // A write hanging on a dead pooled connection must not stop the heartbeat for good: after the member
      // timeout the beat counts as failed and the next tick starts another.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.memberTimeoutMs)));
      this.beating = Promise.race([this.beat(), timeout]).finally(() => {
        clearTimeout(timer);
        this.beating = null;
      });
    }
    if (this.leadership.isLeader && performance.now() - this.lastBeatOk > this.memberTimeoutMs) {
      this.leadership.stepDown("this instance could not write its membership row within the member timeout");
    }
  }

  private async beat(): Promise<void> {
    try {
      await this.membership.beat();
      this.lastBeatOk = performance.now();
      if (!this.beatHealthy) this.logger.info({}, "cluster membership heartbeat restored");
      this.beatHealthy = true;
    } catch (error) {
      if (this.beatHealthy) this.logger.warn({ err: errorText(error) }, "cluster membership heartbeat failed");
      this.beatHealthy = false;
    }
    if (this.closed) return;
    // After the membership write, so a new leader is already a live member; not awaited: a slow lock connection
    // must not delay the next membership write. Bid only while this instance's own row is fresh.
    void this.leadership.tick(() => this.beatHealthy && !this.closed);
    if (this.leadership.isLeader && !this.pruning && performance.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = performance.now();
      this.pruning = this.prune().finally(() => {
        this.pruning = null;
      });
    }
  }

  private async prune(): Promise<void> {
    try {
      const signals = await this.signals.prune();
      const members = await this.membership.forgetOld();
      if (signals || members) this.logger.info({ signals, members }, "pruned the cluster's signal log and members");
    } catch (error) {
      this.logger.warn({ err: errorText(error) }, "pruning the cluster tables failed");
    }
  }
}
