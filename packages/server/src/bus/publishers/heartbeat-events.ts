/**
 * @module bus/publishers/heartbeat-events
 * HEARTBEAT for agents (registry records of type `agent`). A heartbeat's hot path (registry-service.ts: moving a
 * lease's deadline in memory, tens of thousands a second) is left untouched: instead this publisher looks at the
 * lease table on an interval and publishes one HEARTBEAT per agent whose last heartbeat moved since its last look.
 * That is the per-agent rate limit (at most one event per agent per interval, however often it beats) and costs the
 * registry nothing at all, subscribers or not. In a cluster only the leader looks (its lease table also holds the
 * heartbeats the other instances saved), so each is published once.
 *
 * Which leases are agents: the records of type `agent` listed at start, then followed on the change feed.
 * An agent registered without a `ttl` has no lease, so its heartbeats are not announced (nothing expires it either).
 * Payload: `{ serviceId, status, heartbeat, expiresAt }`; `agent` is the record id. A private agent's heartbeat goes
 * to its owner (and admins) only, as the registry would show the record.
 */
import type { ServiceRecord } from "@kai/protocol";
import type { Lease } from "../../registry/lease-table.js";
import type { Change } from "../../registry/change-feed.js";
import { publishQuietly, systemEvent, type PublishPort } from "./system-event.js";

export interface HeartbeatEventsDeps {
  bus: PublishPort;
  leases: { get(id: string): Lease | undefined };
  /** The agent records now (read once at start). */
  listAgents: () => Promise<ReadonlyArray<Pick<ServiceRecord, "id">>>;
  /** Registry changes on this instance, to follow agents registered and removed. */
  feed: { subscribe(listener: (change: Change) => void): () => void };
  isLeader: () => boolean;
  intervalMs: number;
  onError: (error: unknown) => void;
}

export class HeartbeatEvents {
  /** Agent ids, with the last heartbeat time announced (0: none yet). */
  private readonly agents = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private stopFeed: (() => void) | null = null;

  constructor(private readonly deps: HeartbeatEventsDeps) {}

  async start(): Promise<void> {
    this.stopFeed = this.deps.feed.subscribe(({ event }) => {
      const service = event.service;
      if (service.type !== "agent") return;
      if (event.event === "deregistered") this.agents.delete(service.id);
      else if (!this.agents.has(service.id)) this.agents.set(service.id, 0);
    });
    for (const agent of await this.deps.listAgents()) if (!this.agents.has(agent.id)) this.agents.set(agent.id, 0);
    // The first look marks what is already there as seen: only heartbeats from now on are announced.
    this.scan(false);
    this.timer = setInterval(() => this.scan(true), this.deps.intervalMs);
    this.timer.unref();
  }

  /** Agents followed (tests, metrics). */
  get size(): number {
    return this.agents.size;
  }

  /** One look: an event per agent whose lease saw a heartbeat since the last. Public so tests need not wait. */
  scan(publish = true): number {
    if (!this.deps.isLeader()) return 0;
    let published = 0;
    for (const [id, seen] of this.agents) {
      const lease = this.deps.leases.get(id);
      if (!lease || lease.lastBeat <= seen) continue;
      this.agents.set(id, lease.lastBeat);
      if (!publish) continue;
      published++;
      const owner = lease.visibility === "private" ? lease.owner : undefined;
      publishQuietly(
        this.deps.bus,
        systemEvent(
          "HEARTBEAT",
          { serviceId: id, status: lease.status, heartbeat: new Date(lease.lastBeat).toISOString(), expiresAt: new Date(lease.expiresAt).toISOString() },
          { agent: id, ...(owner !== undefined ? { owner } : {}) },
        ),
        this.deps.onError,
      );
    }
    return published;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopFeed?.();
    this.stopFeed = null;
  }
}
