/**
 * @module bus/publishers/system-event
 * The one way the node's own publishers (system status, heartbeats, configuration updates, notifications) build a
 * bus event, so every one has a fresh id, a timestamp and the node's agent id, and none carries a task `seq` (they
 * are not task events: they are not stored, a reconnecting client does not replay them).
 */
import { randomUUID } from "node:crypto";
import type { BusEvent, BusEventType } from "@kai/protocol";

/** The node's own agent id on the bus for what it says about itself (status, configuration). */
export const NODE_AGENT = "kCore:node";

/**
 * The `owner` of an event meant for admins only (vault locked, a peer link down). Admins receive every event
 * (bus/event-access.ts); no account is meant to be named this, so no one else matches it.
 */
export const ADMINS_AUDIENCE = "@admins";

export function systemEvent(
  type: Exclude<BusEventType, "AGENT_RESULT" | "AGENT_ERROR" | "TASK_PROGRESS" | "REGISTRY_CHANGE">,
  payload: Record<string, unknown>,
  extras: { agent?: string; owner?: string; correlationId?: string } = {},
): BusEvent {
  return { id: randomUUID(), type, agent: extras.agent ?? NODE_AGENT, payload, timestamp: new Date().toISOString(), ...(extras.owner !== undefined ? { owner: extras.owner } : {}), ...(extras.correlationId !== undefined ? { correlationId: extras.correlationId } : {}) };
}

/** What a publisher needs of the bus: publishing never fails its caller (a lost status line is logged, not thrown). */
export interface PublishPort {
  publish(event: BusEvent): Promise<void>;
}

export function publishQuietly(bus: PublishPort, event: BusEvent, onError: (error: unknown) => void): void {
  bus.publish(event).catch(onError);
}
