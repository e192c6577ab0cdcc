/**
 * @module registry/lease-monitor
 * Turns missed heartbeats into status: a lease past its deadline marks the service `offline` (through
 * the expiry guard), and a service offline for longer than the grace period is deregistered. It also
 * saves heartbeat times in batches, and notices when the registry itself was away (the event loop or
 * the machine stalled) so that services are not blamed for heartbeats that could not land.
 */
import type { Logger } from "../logging/logger.js";
import type { NodeStore } from "../storage/contracts/node-store.js";
import type { LeaseTable, Lease } from "./lease-table.js";
import type { RegistryService } from "./registry-service.js";
import { ExpiryGuard, type ExpiryGuardState } from "./expiry-guard.js";

export interface LeaseMonitorOptions {
  sweepIntervalMs: number;
  heartbeatFlushMs: number;
  offlineGraceMs: number;
  stallThresholdMs: number;
  guard: ConstructorParameters<typeof ExpiryGuard>[0];
  /**
   * In a cluster: sweeps run only while this returns true (the instance holds the singleton jobs), heartbeat
   * times saved by the other instances are read before any lease is expired, and a lease must be overdue by
   * `clusterGraceMs` (their heartbeats reach the database in batches) before it is.
   */
  cluster?: { isLeader: () => boolean; clusterGraceMs: number };
}

export interface LeaseMonitorDeps {
  leases: LeaseTable;
  registry: RegistryService;
  store: NodeStore;
  logger: Logger;
  now?: () => number;
}

/** Fisher–Yates: expire held-back leases in random order so that no one service is always first. */
function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * Status changes a sweep has in flight at most. A mass expiry released by the guard can be tens of thousands at
 * once; started together they took every database connection for seconds (registrations failed with
 * storage_unavailable meanwhile) and stalled the event loop. Bounded, they still group-commit in batches.
 */
const MAX_CONCURRENT_ACTIONS = 64;

/** Runs the tasks with at most `limit` in flight (a sweep's writes are independent); six lines, not worth a dependency. */
async function runBounded(tasks: ReadonlyArray<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

export class LeaseMonitor {
  private readonly guard: ExpiryGuard;
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private lastSweep = 0;
  private sweeping: Promise<void> | null = null;

  constructor(
    private readonly deps: LeaseMonitorDeps,
    private readonly options: LeaseMonitorOptions,
  ) {
    this.guard = new ExpiryGuard(options.guard);
    this.now = deps.now ?? Date.now;
  }

  get guardState(): ExpiryGuardState {
    return this.guard.state;
  }

  start(): void {
    this.lastSweep = this.now();
    this.sweepTimer = setInterval(() => void this.sweep(), this.options.sweepIntervalMs);
    this.flushTimer = setInterval(() => void this.flushHeartbeats(), this.options.heartbeatFlushMs);
    this.sweepTimer.unref();
    this.flushTimer.unref();
  }

  /** Stops the timers and saves the heartbeats still queued. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.sweepTimer = this.flushTimer = null;
    await this.sweeping;
    await this.flushHeartbeats();
  }

  async flushHeartbeats(): Promise<void> {
    const beats = this.deps.leases.drainBeats();
    if (beats.length === 0) return;
    try {
      await this.deps.store.saveHeartbeats(beats);
    } catch (error) {
      this.deps.logger.error({ err: error, count: beats.length }, "saving heartbeat times failed");
    }
  }

  /** One pass over the leases. Exposed for tests; the timer calls it. */
  sweep(): Promise<void> {
    if (this.sweeping) return this.sweeping;
    this.sweeping = this.runSweep().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async runSweep(): Promise<void> {
    const now = this.now();
    const gap = now - this.lastSweep;
    this.lastSweep = now;
    if (gap > this.options.stallThresholdMs) {
      // The registry was not running for `gap` ms (stalled event loop, suspended VM): heartbeats could not land.
      this.deps.leases.extendAll(gap);
      this.deps.logger.warn({ gapMs: gap }, "registry was paused; extended every lease by the pause");
      return;
    }
    const cluster = this.options.cluster;
    if (cluster && !cluster.isLeader()) return;
    if (cluster && this.anyOverdue(now, cluster.clusterGraceMs)) {
      // Another instance may have taken this service's heartbeats: its saved times win over what this table holds.
      this.deps.leases.mergeStoredBeats(await this.deps.store.listLeases());
    }
    const grace = cluster?.clusterGraceMs ?? 0;
    const expired: Lease[] = [];
    const toDeregister: Lease[] = [];
    let live = 0;
    for (const lease of this.deps.leases.values()) {
      if (lease.status === "offline") {
        if (!lease.busy && lease.offlineSince !== null && now - lease.offlineSince >= this.options.offlineGraceMs) toDeregister.push(lease);
        continue;
      }
      if (lease.status === "maintenance") continue;
      // A lease with a write in flight is being expired: the guard already counts it among this window's expiries
      // (its population is the live leases plus those), and its write decides what it becomes.
      if (lease.busy) continue;
      live++;
      if (lease.expiresAt + grace <= now) expired.push(lease);
    }
    const { allowed, transition } = this.guard.admit(expired.length, live, now);
    if (transition === "engaged") this.deps.logger.warn({ expired: expired.length, live, allowed, reason: this.guard.state.reason }, "mass-expiry guard engaged: holding back lease expiry");
    else if (transition) this.deps.logger.warn({ transition, expired: expired.length }, "mass-expiry guard released");
    const work: Array<() => Promise<void>> = [];
    for (const lease of shuffle(expired).slice(0, allowed)) {
      const seconds = Math.round(lease.ttlMs / 1000);
      work.push(() => this.withLease(lease, () => this.deps.registry.setStatusBySystem(lease.id, "offline", `no heartbeat for ${seconds}s (ttl)`, lease.revision)));
    }
    for (const lease of toDeregister) {
      work.push(() => this.withLease(lease, () => this.deps.registry.deregisterBySystem(lease.id, lease.revision)));
    }
    await runBounded(work, MAX_CONCURRENT_ACTIONS);
  }

  private anyOverdue(now: number, grace: number): boolean {
    for (const lease of this.deps.leases.values()) {
      if (lease.status === "offline" || lease.status === "maintenance" || lease.busy) continue;
      if (lease.expiresAt + grace <= now) return true;
    }
    return false;
  }

  private async withLease(lease: Lease, action: () => Promise<boolean>): Promise<void> {
    lease.busy = true;
    try {
      await action();
    } catch (error) {
      this.deps.logger.error({ err: error, serviceId: lease.id }, "lease action failed");
    } finally {
      lease.busy = false;
    }
  }
}
