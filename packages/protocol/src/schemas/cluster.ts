/**
 * @module cluster
 * One node made of several instances on one database: `GET /api/cluster` (every live instance, which one is the
 * leader and runs the singleton jobs, the shared storage and cache) and the summary `GET /api/status` carries.
 * One definition for the server's response schema (and so the OpenAPI document), the SDK and the CLI.
 */
import { z } from "zod";
import { TimestampSchema } from "./common.js";

/**
 * `single`: one process on SQLite or memory storage, always its own leader. `postgres`: every instance of the
 * node on one PostgreSQL, one of them elected leader.
 */
export const ClusterModeSchema = z.enum(["single", "postgres"]);
export type ClusterMode = z.infer<typeof ClusterModeSchema>;

/**
 * The jobs exactly one instance runs at a time (the leader runs all of them): lease expiry sweeps, active health
 * checks, compaction of the event log, federation links (export and pull), pruning of the cluster signal log,
 * pruning of sign-in's expired challenges and long-ended sessions, the agents the node runs itself, A2A push
 * notifications, the artifact blob sweep (`artifacts.gc`), expired memories' deletion, and scheduled backups (when
 * `backup.schedule` is on).
 */
export const CLUSTER_JOBS = [
  "lease-sweeps",
  "health-checks",
  "event-compaction",
  "federation-links",
  "signal-pruning",
  "sign-in-pruning",
  "run-agents",
  "a2a-push",
  "artifact-gc",
  "memory-sweeps",
  "backups",
] as const;
export const ClusterJobSchema = z.enum(CLUSTER_JOBS);
export type ClusterJob = z.infer<typeof ClusterJobSchema>;

/** The vault as one instance holds it: every instance unlocks the one shared vault on its own. */
export const InstanceVaultStateSchema = z.enum(["unlocked", "locked", "uninitialized"]);
export type InstanceVaultState = z.infer<typeof InstanceVaultStateSchema>;

/** The optional Redis cache: not configured, reachable, or configured but unreachable (PostgreSQL stands in). */
export const RedisStateSchema = z.enum(["off", "up", "down"]);
export type RedisState = z.infer<typeof RedisStateSchema>;

/** The storage backends (the configuration's `storage.kind`). */
export const StorageKindSchema = z.enum(["sqlite", "postgres", "memory"]);
export type StorageKind = z.infer<typeof StorageKindSchema>;

/** An instance as it names itself. */
export const InstanceRefSchema = z.object({ id: z.string(), name: z.string() });
export type InstanceRef = z.infer<typeof InstanceRefSchema>;

export const ClusterLeaderSchema = z.object({
  instanceId: z.string(),
  /** The leader's instance name (its id when its membership row is already gone). */
  name: z.string(),
  /** The fencing epoch of this leadership: strictly increasing across the cluster. */
  epoch: z.int().nonnegative(),
  /** When this instance became the leader. */
  since: TimestampSchema,
});
export type ClusterLeader = z.infer<typeof ClusterLeaderSchema>;

export const ClusterInstanceSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** Where it answers HTTP, when known. */
  url: z.string().nullable(),
  version: z.string(),
  startedAt: TimestampSchema,
  /** Its last membership heartbeat. */
  lastSeenAt: TimestampSchema,
  leader: z.boolean(),
  /** The singleton jobs it runs now (all of them on the leader, none elsewhere). */
  jobs: z.array(ClusterJobSchema),
  /** The registry revision it has applied. */
  revision: z.int().nonnegative(),
  /** How far it is behind the newest revision in the database. */
  lagRevisions: z.int().nonnegative(),
  /** What its `/readyz` answers: false takes it out of a load balancer. */
  ready: z.boolean(),
  vault: InstanceVaultStateSchema,
});
export type ClusterInstance = z.infer<typeof ClusterInstanceSchema>;

export const ClusterResponseSchema = z.object({
  mode: ClusterModeSchema,
  /** The instance that answered. */
  instance: InstanceRefSchema,
  /** Null while no instance holds the leadership (between a leader's death and its successor's election). */
  leader: ClusterLeaderSchema.nullable(),
  /** Every live instance, this one included. */
  instances: z.array(ClusterInstanceSchema),
  /** The database they share; `description` never carries a password. */
  storage: z.object({ kind: StorageKindSchema, description: z.string() }),
  cache: z.object({ redis: RedisStateSchema }),
});
export type ClusterResponse = z.infer<typeof ClusterResponseSchema>;

/** The cluster as `GET /api/status` sums it up (any valid token may read it). */
export const ClusterSummarySchema = z.object({
  mode: ClusterModeSchema,
  instance: InstanceRefSchema,
  leader: z.object({ instanceId: z.string(), name: z.string(), since: TimestampSchema }).nullable(),
  /** Live instances, this one included. */
  instances: z.int().nonnegative(),
  cache: z.object({ redis: RedisStateSchema }),
});
export type ClusterSummary = z.infer<typeof ClusterSummarySchema>;
