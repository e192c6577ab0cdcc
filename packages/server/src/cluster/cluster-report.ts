/**
 * @module cluster/cluster-report
 * What the HTTP layer shows about the cluster, from the parts that know it: `GET /api/cluster` (every live
 * instance with the jobs it runs, its revision and lag, readiness and vault state; the leader; the shared
 * database and cache), the summary in `GET /api/status`, and `/readyz` (this instance cannot serve while its
 * database is unreachable, its vault is locked, or it cannot read the shared event log).
 *
 * Each instance writes its own figures into its membership row (`Cluster.report`) once per heartbeat, so any
 * instance can answer for all of them from the database.
 */
import type { ClusterInstance, ClusterJob, ClusterResponse, ClusterSummary, InstanceVaultState, ReadinessReason, RedisState } from "@kai/protocol";
import { CLUSTER_JOBS } from "@kai/protocol";
import type { Logger } from "../logging/logger.js";
import type { ChangeFeed } from "../registry/change-feed.js";
import { isSharedStorage, type StorageBackend } from "../storage/contracts/storage-backend.js";
import type { VaultService } from "../vault/vault-service.js";
import type { ChangeTailer } from "./change-tailer.js";
import type { Cluster, ClusterMember } from "./cluster-types.js";
import type { SingletonJobs } from "./singleton-jobs.js";

export interface ClusterReportDeps {
  cluster: Cluster;
  jobs: SingletonJobs;
  feed: ChangeFeed;
  tailer: ChangeTailer | null;
  vault: VaultService;
  store: StorageBackend;
  storageKind: "sqlite" | "postgres" | "memory";
  redis: () => RedisState;
  /** This instance's HTTP address, once it listens. */
  url: () => string | null;
  /** True once shutdown began. */
  closing: () => boolean;
  /** How often the instance's own figures are written to its membership row, ms. */
  reportIntervalMs: number;
  logger: Logger;
}

/** The database answers within this, or the instance is not ready. */
const PING_TIMEOUT_MS = 2_000;

/** The known jobs an instance reported, in the order `CLUSTER_JOBS` lists them. */
function jobsOf(value: unknown): ClusterJob[] {
  return Array.isArray(value) ? CLUSTER_JOBS.filter((job) => value.includes(job)) : [];
}

function count(value: unknown): number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

export class ClusterReport {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: ClusterReportDeps) {}

  start(): void {
    const tick = () => void this.reportSelf().catch((error: unknown) => this.deps.logger.debug({ err: error }, "cluster report failed"));
    tick();
    this.timer = setInterval(tick, this.deps.reportIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Why this instance cannot serve now (empty: it can). */
  async reasons(): Promise<ReadinessReason[]> {
    const { store, tailer, closing } = this.deps;
    if (closing()) return ["shutting down"];
    const reasons: ReadinessReason[] = [];
    if (isSharedStorage(store)) {
      const reachable = await Promise.race([
        store.ping().then(() => true, () => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), PING_TIMEOUT_MS).unref()),
      ]);
      // Nothing else can be read without the database (the vault's state lives there too).
      if (!reachable) return ["database unreachable"];
    }
    if ((await this.vaultState()) === "locked") reasons.push("vault locked");
    if (tailer && tailer.failure !== null) reasons.push("catching up with the event log");
    return reasons;
  }

  readiness = async (): Promise<{ ready: boolean; reasons: ReadinessReason[] }> => {
    try {
      const reasons = await this.reasons();
      return { ready: reasons.length === 0, reasons };
    } catch (error) {
      this.deps.logger.warn({ err: error }, "the readiness check failed");
      return { ready: false, reasons: ["readiness check failed"] };
    }
  };

  clusterSummary = async (): Promise<ClusterSummary> => {
    const { cluster } = this.deps;
    const [members, leader] = await Promise.all([cluster.members(), cluster.leader()]);
    const leaderName = leader ? (members.find((m) => m.instanceId === leader.instanceId)?.name ?? leader.instanceId) : null;
    return {
      mode: cluster.mode,
      instance: { id: cluster.instanceId, name: cluster.instanceName },
      leader: leader ? { instanceId: leader.instanceId, name: leaderName ?? leader.instanceId, since: leader.since } : null,
      instances: members.length,
      cache: { redis: this.deps.redis() },
    };
  };

  getCluster = async (): Promise<ClusterResponse> => {
    const { cluster, store, storageKind } = this.deps;
    const own = await this.reportSelf();
    const [members, leader, newest] = await Promise.all([cluster.members(), cluster.leader(), store.currentRevision()]);
    // This instance answers for itself with what it knows now, not with its last heartbeat's row.
    for (const member of members) if (member.instanceId === cluster.instanceId) member.info = { ...member.info, ...own };
    const leaderName = leader ? (members.find((m) => m.instanceId === leader.instanceId)?.name ?? leader.instanceId) : null;
    return {
      mode: cluster.mode,
      instance: { id: cluster.instanceId, name: cluster.instanceName },
      leader: leader ? { instanceId: leader.instanceId, name: leaderName ?? leader.instanceId, epoch: leader.epoch, since: leader.since } : null,
      instances: members.map((member) => this.instanceOf(member, newest)),
      storage: { kind: storageKind, description: store.description },
      cache: { redis: this.deps.redis() },
    };
  };

  private instanceOf(member: ClusterMember, newest: number): ClusterInstance {
    const { info } = member;
    const revision = count(info.revision);
    const vault = info.vault === "locked" || info.vault === "unlocked" || info.vault === "uninitialized" ? info.vault : "locked";
    return {
      id: member.instanceId,
      name: member.name,
      url: member.url ?? (typeof info.url === "string" ? info.url : null),
      version: member.version,
      startedAt: member.startedAt,
      lastSeenAt: member.lastSeenAt,
      leader: member.leader,
      jobs: jobsOf(info.jobs),
      revision,
      lagRevisions: Math.max(0, newest - revision),
      ready: info.ready === true,
      vault,
    };
  }

  private async vaultState(): Promise<InstanceVaultState> {
    const status = await this.deps.vault.status();
    return !status.initialized ? "uninitialized" : status.locked ? "locked" : "unlocked";
  }

  /** Writes this instance's own figures where the others read them (its membership row). */
  private async reportSelf(): Promise<Record<string, unknown>> {
    const { cluster, jobs, feed, url } = this.deps;
    const reasons = await this.reasons();
    const vault = await this.vaultState().catch((): InstanceVaultState => "locked");
    const info = { revision: feed.revision, ready: reasons.length === 0, vault, jobs: jobs.running, url: url() };
    cluster.report(info);
    return info;
  }
}
