/**
 * @module cluster/open-cluster
 * Picks how this instance takes part in its node, from the storage it opened: on a backend shared by several
 * instances (PostgreSQL) it joins the others (membership, leadership, signals) and follows the shared event log
 * into its change feed; on SQLite or memory it is the whole node (always the leader, its feed written by its own
 * commits). The composition root (server.ts) gets the same parts either way.
 */
import { hostname } from "node:os";
import type { Config } from "../config/config-schema.js";
import type { Logger } from "../logging/logger.js";
import { ChangeFeed } from "../registry/change-feed.js";
import { isSharedStorage, type StorageBackend, type SharedStorage } from "../storage/contracts/storage-backend.js";
import type { PostgresStore } from "../storage/postgres/pg-store.js";
import type { Cluster } from "./cluster-types.js";
import { ChangeTailer } from "./change-tailer.js";
import { SingleNodeCluster } from "./single-node.js";
import { PostgresCluster } from "./postgres/pg-cluster.js";

export interface ClusterParts {
  cluster: Cluster;
  /** The registry's change feed; in a cluster only the tailer writes it. */
  feed: ChangeFeed;
  /** Follows the shared event log (null in one process). */
  tailer: ChangeTailer | null;
  /** Reads the signal log now (a Redis wake-up from another instance); null in one process. */
  signalReader: { wake(): void } | null;
}

/** The store as a shared (PostgreSQL) backend, whose pool and connection settings the cluster parts use. */
export function isShared(store: StorageBackend): store is StorageBackend & SharedStorage & PostgresStore {
  return isSharedStorage(store);
}

export async function openCluster(options: { config: Config; store: StorageBackend; logger: Logger; version: string }): Promise<ClusterParts> {
  const { config, store, logger, version } = options;
  const instanceName = config.cluster.instanceName ?? `${hostname()}:${process.pid}`;
  if (!isShared(store)) {
    const feed = new ChangeFeed(await store.currentRevision(), config.registry.eventRetention, logger);
    return { cluster: new SingleNodeCluster({ instanceName, version, logger }), feed, tailer: null, signalReader: null };
  }
  // The feed starts primed with the most recent changes, so a watcher can resume here from a revision it got on
  // another instance, even from before this one started.
  const current = await store.currentRevision();
  const primed = await ChangeTailer.prime(store, current, config.registry.eventRetention);
  const feed = new ChangeFeed(primed.from, config.registry.eventRetention, logger);
  for (const change of primed.changes) feed.publish(change);
  const tailer = new ChangeTailer({ storage: store, feed, logger, pollIntervalMs: config.cluster.pollIntervalMs });
  const cluster = new PostgresCluster({
    pool: store.pool,
    clientConfig: store.clientConfig,
    instanceName,
    url: null,
    version,
    heartbeatMs: config.cluster.heartbeatMs,
    memberTimeoutMs: config.cluster.memberTimeoutMs,
    pollIntervalMs: config.cluster.pollIntervalMs,
    logger,
  });
  return { cluster, feed, tailer, signalReader: cluster.signals };
}
