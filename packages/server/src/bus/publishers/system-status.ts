/**
 * @module bus/publishers/system-status
 * SYSTEM_STATUS: what operators care about, as it happens, plus a periodic summary. Each event is published once in
 * a cluster:
 * - by the instance where it happened: this instance became the leader (`leader_changed`), its vault was locked or
 *   unlocked (`vault_locked` / `vault_unlocked`), the shared database stopped or started answering it (each
 *   instance pings it on the interval: `storage_unavailable` / `storage_available`), and whatever the node reports
 *   through `report(...)` (`bus_reconnected`);
 * - by the leader, on its interval (`bus.statusIntervalMs`): instances that joined or left since its last look
 *   (`instance_joined` / `instance_left`) and the summary (`summary`: instances, leader, the caller's figures).
 * Every payload has `kind` and `instance` (the publishing instance's name); none carries a secret.
 * Status goes to every subscriber allowed `agents:read` (no owner): it names instances, never records or secrets.
 */
import type { ClusterMember, Leadership } from "../../cluster/cluster-types.js";
import { publishQuietly, systemEvent, type PublishPort } from "./system-event.js";

/** A ping slower than this counts as the database not answering. */
const PING_TIMEOUT_MS = 5000;

export type SystemStatusKind =
  | "leader_changed"
  | "vault_locked"
  | "vault_unlocked"
  | "instance_joined"
  | "instance_left"
  | "storage_unavailable"
  | "storage_available"
  | "bus_reconnected"
  | "summary";

export interface SystemStatusDeps {
  bus: PublishPort;
  cluster: { instanceId: string; instanceName: string; leadership: Leadership; members(): Promise<ClusterMember[]> };
  /** The vault's state changes on this instance (the node key becoming available = unlocked). */
  vault?: { onChange(listener: (available: boolean) => void): () => void };
  /** Figures for the summary (services, agents, tasks running...); no secrets. */
  summary?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** The shared database (PostgreSQL), pinged on the interval by every instance; absent for a local store. */
  storage?: { ping(): Promise<void> };
  intervalMs: number;
  onError: (error: unknown) => void;
}

export class SystemStatusPublisher {
  private readonly stops: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  /** The members the leader saw at its last look, by instance id; null until its first look. */
  private known: Map<string, string> | null = null;
  private ticking = false;
  /** Whether the storage answered the last ping (it did at start: the node could not have started otherwise). */
  private storageUp = true;
  private pinging = false;

  constructor(private readonly deps: SystemStatusDeps) {}

  start(): void {
    const { cluster, vault } = this.deps;
    this.stops.push(
      cluster.leadership.onChange((leader) => {
        if (leader) this.emit("leader_changed", { leader: cluster.instanceId, epoch: cluster.leadership.epoch });
        // A new leader starts its own view of the members (no "joined" flood for those already there).
        this.known = null;
      }),
    );
    if (vault) this.stops.push(vault.onChange((available) => this.emit(available ? "vault_unlocked" : "vault_locked", {})));
    this.timer = setInterval(() => {
      void this.checkStorage();
      void this.tick();
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** Something this instance saw happen (storage unavailable or back, the bus reconnected). */
  report(kind: Extract<SystemStatusKind, "bus_reconnected">, details: Record<string, unknown> = {}): void {
    this.emit(kind, details);
  }

  /** One look by the leader: membership changes, then the summary. Public so tests need not wait for the interval. */
  async tick(): Promise<void> {
    const { cluster } = this.deps;
    if (!cluster.leadership.isLeader || this.ticking) return;
    this.ticking = true;
    try {
      const members = await cluster.members();
      const now = new Map(members.map((member) => [member.instanceId, member.name]));
      if (this.known) {
        for (const [id, name] of now) if (!this.known.has(id)) this.emit("instance_joined", { member: { instanceId: id, name } });
        for (const [id, name] of this.known) if (!now.has(id)) this.emit("instance_left", { member: { instanceId: id, name } });
      }
      this.known = now;
      const figures = this.deps.summary ? await this.deps.summary() : {};
      this.emit("summary", { ...figures, instances: members.length, leader: cluster.instanceId });
    } catch (error) {
      this.deps.onError(error);
    } finally {
      this.ticking = false;
    }
  }

  /** Pings the storage; a change from the last answer is published. Public so tests need not wait for the interval. */
  async checkStorage(): Promise<void> {
    const storage = this.deps.storage;
    if (!storage || this.pinging) return;
    this.pinging = true;
    try {
      const up = await Promise.race([
        storage.ping().then(() => true, () => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), PING_TIMEOUT_MS).unref()),
      ]);
      if (up !== this.storageUp) this.emit(up ? "storage_available" : "storage_unavailable", {});
      this.storageUp = up;
    } finally {
      this.pinging = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const stop of this.stops.splice(0)) stop();
  }

  private emit(kind: SystemStatusKind, details: Record<string, unknown>): void {
    publishQuietly(this.deps.bus, systemEvent("SYSTEM_STATUS", { kind, instance: this.deps.cluster.instanceName, ...details }), this.deps.onError);
  }
}
