/**
 * @module cluster/cluster-types
 * What one instance of a node needs to act, with its siblings, as one node: who the instances are, which one
 * runs the singleton jobs (leadership, fenced by an epoch), a durable signal bus for changes that are not
 * registry events (a token revoked, the vault's keyring rotated, a health verdict), and shared rate counters.
 *
 * Two implementations: `single-node.ts` (SQLite or memory storage: one process, always the leader, signals stay
 * in process) and `postgres/` (every instance on one PostgreSQL: membership rows, a session advisory lock for
 * leadership, a signal log read on NOTIFY and on a poll, so a lost notification delays a signal but never loses it).
 * Registry events do not travel here: they have their own ordered log (storage) and `change-tailer.ts`.
 */

/** A signal's topic: who listens decides what the payload means. */
export type SignalTopic =
  /** `{ tokenId }`: a token was revoked; every instance refuses it at once. */
  | "token_revoked"
  /** `{ reason }`: the vault header changed (rotation, passphrase change, initialisation); instances reload it. */
  | "vault_changed"
  /** `{ serviceId, verdict: "passing" | "failing" | null }`: the health checker's verdict changed. */
  | "health_verdict"
  /** `{ serviceId, ok }`: one active probe's outcome (circuit breakers on every instance). */
  | "health_probe"
  /** `{ origin? }`: federation peers or imported records changed; instances reload them. */
  | "federation_changed";

export type SignalHandler = (payload: Record<string, unknown>, meta: { origin: string; fromSelf: boolean }) => void;

export interface ClusterSignals {
  /**
   * Publishes durably: resolves once the signal is committed; every live instance (this one included) gets it
   * exactly once, in publication order, even if its notification was lost (it reads the log on a poll too).
   */
  publish(topic: SignalTopic, payload: Record<string, unknown>): Promise<void>;
  subscribe(topic: SignalTopic, handler: SignalHandler): () => void;
}

export interface Leadership {
  /** True while this instance holds the singleton jobs. */
  readonly isLeader: boolean;
  /** The fencing epoch of the current leadership (strictly increasing across the cluster); 0 before any. */
  readonly epoch: number;
  /** Told true when this instance becomes the leader, false when it stops being it. */
  onChange(listener: (leader: boolean) => void): () => void;
}

/** One instance as the others see it. */
export interface ClusterMember {
  instanceId: string;
  name: string;
  /** Where it answers HTTP, when known. */
  url: string | null;
  version: string;
  startedAt: string;
  lastSeenAt: string;
  leader: boolean;
  /** Free-form state the instance reports about itself (registry revision, vault state, lag). */
  info: Record<string, unknown>;
}

export interface LeaderInfo {
  instanceId: string;
  epoch: number;
  since: string;
}

export interface Cluster {
  readonly mode: "single" | "postgres";
  readonly instanceId: string;
  readonly instanceName: string;
  readonly leadership: Leadership;
  readonly signals: ClusterSignals;
  /** Instances seen alive (membership rows fresher than the member timeout), this one included. */
  members(): Promise<ClusterMember[]>;
  leader(): Promise<LeaderInfo | null>;
  /** What this instance reports in its membership row (merged into `info`). */
  report(info: Record<string, unknown>): void;
  /** Joins: membership, leadership, signals. */
  start(): Promise<void>;
  /** Leaves: gives up leadership at once (another instance takes over without waiting for a timeout). */
  close(): Promise<void>;
}
