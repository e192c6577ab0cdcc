/**
 * @module bus/event-access
 * Who may receive which bus event, as one pure rule for every transport (SSE, WebSocket): admins receive
 * everything; an event with an `owner` (a task's owner, a notification's recipient) goes to that owner; a task
 * event without one goes to admins only (whose it is cannot be told); a registry change goes to those who may see
 * the record (the registry's own visibility rule); anything else to every subscriber. An event for the admins'
 * audience (`@admins`) goes to admins only, even to an account that happens to carry that name as its owner.
 */
import type { BusEvent, ServiceRecord } from "@kai/protocol";
import { canSee, type Viewer } from "../storage/contracts/viewer.js";
import { ADMINS_AUDIENCE } from "./publishers/system-event.js";

/** An event as the hub fans it out: registry changes carry the record's owner and visibility (never sent). */
export interface HubEvent {
  event: BusEvent;
  record?: Pick<ServiceRecord, "owner" | "visibility">;
}

export function mayReceive(viewer: Viewer, item: HubEvent): boolean {
  if (viewer.admin) return true;
  if (item.record) return canSee(viewer, item.record);
  const { event } = item;
  if (event.owner !== undefined) return event.owner !== ADMINS_AUDIENCE && event.owner === viewer.owner;
  return event.taskId === undefined;
}
