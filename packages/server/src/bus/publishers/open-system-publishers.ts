/**
 * @module bus/publishers/open-system-publishers
 * Starts the node's own publishers on the bus (SYSTEM_STATUS, HEARTBEAT, CONFIG_UPDATE, admins' USER_NOTIFICATION;
 * tasks' notifications are wired into kCore's bus by open-agent-mesh.ts) from the parts server.ts already has, and
 * stops them. Each publisher decides where it runs so an event is published once in a cluster (see each module).
 */
import type { ServiceRecord } from "@kai/protocol";
import { ServiceFilterSchema } from "@kai/protocol";
import type { Cluster } from "../../cluster/cluster-types.js";
import type { Logger } from "../../logging/logger.js";
import type { Change } from "../../registry/change-feed.js";
import type { Lease } from "../../registry/lease-table.js";
import type { NodeStore } from "../../storage/contracts/node-store.js";
import { isSharedStorage } from "../../storage/contracts/storage-backend.js";
import { AdminNotifications, type PeerLinkView } from "./admin-notifications.js";
import { ConfigUpdates } from "./config-updates.js";
import { HeartbeatEvents } from "./heartbeat-events.js";
import type { PublishPort } from "./system-event.js";
import { SystemStatusPublisher } from "./system-status.js";

/** How often the leader looks at agents' leases for HEARTBEAT: at most one event per agent per this. */
export const HEARTBEAT_EVENT_INTERVAL_MS = 10_000;

export interface SystemPublishersDeps {
  bus: PublishPort;
  cluster: Pick<Cluster, "instanceId" | "instanceName" | "leadership" | "members">;
  /** The cluster's signals, when instances share a database (CONFIG_UPDATE from runtime changes). */
  signals?: Cluster["signals"];
  logger: Logger;
  /** `bus.statusIntervalMs`. */
  statusIntervalMs: number;
  heartbeatIntervalMs?: number;
  vault?: { onChange(listener: (available: boolean) => void): () => void };
  leases: { get(id: string): Lease | undefined };
  feed: { subscribe(listener: (change: Change) => void): () => void };
  store: Pick<NodeStore, "listServices" | "countServices">;
  peers?: () => ReadonlyArray<PeerLinkView>;
  /** More figures for the periodic summary (tasks running, agents...). */
  summary?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
}

export interface SystemPublishers {
  status: SystemStatusPublisher;
  heartbeats: HeartbeatEvents;
  config: ConfigUpdates;
  admins: AdminNotifications;
  stop(): void;
}

/** Every agent record, page by page (the node's own view: an admin viewer). */
async function listAgents(store: Pick<NodeStore, "listServices">): Promise<Array<Pick<ServiceRecord, "id">>> {
  const out: Array<Pick<ServiceRecord, "id">> = [];
  const filter = ServiceFilterSchema.parse({ type: "agent" });
  let cursor: string | undefined;
  do {
    const page = await store.listServices({ filter, viewer: { owner: "", admin: true }, limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const service of page.services) out.push({ id: service.id });
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

export async function openSystemPublishers(deps: SystemPublishersDeps): Promise<SystemPublishers> {
  const log = deps.logger.child({ agent: "kCore:node" });
  const onError = (error: unknown) => log.warn({ err: error }, "a system event could not be published");
  const isLeader = () => deps.cluster.leadership.isLeader;
  const status = new SystemStatusPublisher({
    bus: deps.bus,
    cluster: deps.cluster,
    ...(deps.vault ? { vault: deps.vault } : {}),
    summary: async () => {
      const byStatus = await deps.store.countServices({ owner: "", admin: true });
      return { services: byStatus, ...(deps.summary ? await deps.summary() : {}) };
    },
    // A shared database (PostgreSQL) can stop answering while the node runs; a local file cannot in that way.
    ...(isSharedStorage(deps.store) ? { storage: deps.store } : {}),
    intervalMs: deps.statusIntervalMs,
    onError,
  });
  const heartbeats = new HeartbeatEvents({ bus: deps.bus, leases: deps.leases, listAgents: () => listAgents(deps.store), feed: deps.feed, isLeader, intervalMs: deps.heartbeatIntervalMs ?? HEARTBEAT_EVENT_INTERVAL_MS, onError });
  const config = new ConfigUpdates({ bus: deps.bus, instanceName: deps.cluster.instanceName, ...(deps.signals ? { signals: deps.signals } : {}), onError });
  const admins = new AdminNotifications({ bus: deps.bus, instanceName: deps.cluster.instanceName, ...(deps.vault ? { vault: deps.vault } : {}), ...(deps.peers ? { peers: deps.peers } : {}), isLeader, intervalMs: deps.statusIntervalMs, onError });
  const stop = () => {
    status.stop();
    heartbeats.stop();
    config.stop();
    admins.stop();
  };
  try {
    status.start();
    config.start();
    admins.start();
    await heartbeats.start();
  } catch (error) {
    stop();
    throw error;
  }
  return { status, heartbeats, config, admins, stop };
}
