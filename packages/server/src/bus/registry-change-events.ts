/**
 * @module bus/registry-change-events
 * Registry changes as bus events (`REGISTRY_CHANGE`). They come from each instance's own change feed, never over
 * the bus: in a cluster every instance already receives every change through the shared event log, so re-sending
 * them would only deliver each one twice. The payload names the change and the record, not the record itself
 * (its auth reference and metadata stay behind `GET /api/services/{id}`, where the caller's access is checked).
 */
import { randomUUID } from "node:crypto";
import type { Change } from "../registry/change-feed.js";
import type { HubEvent } from "./event-access.js";

export function registryChangeEvent(change: Change): HubEvent {
  const { event } = change;
  const service = event.service;
  return {
    event: {
      id: randomUUID(),
      type: "REGISTRY_CHANGE",
      ...(service.type === "agent" ? { agent: service.id } : {}),
      payload: { event: event.event, revision: event.revision, serviceId: service.id, name: service.name, serviceType: service.type, status: service.status },
      timestamp: new Date().toISOString(),
    },
    record: { owner: service.owner, visibility: service.visibility },
  };
}
