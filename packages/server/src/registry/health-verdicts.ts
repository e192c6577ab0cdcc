/**
 * @module registry/health-verdicts
 * The health checker's verdict per service (`passing`, `failing`; `unknown` when there is none), apart from
 * the record's `status`. Its own small object, created before both its writer (health-checker.ts) and its
 * readers (registry-service.ts: heartbeats do not revive a failing service; the directory: listings and
 * watch show `health`), so that none of them has to be assigned into another after construction.
 */
import type { ServiceHealth, ServiceRecord } from "@kai/protocol";

/** What readers need: the verdict on one service. */
export interface HealthView {
  of(id: string): ServiceHealth;
}

export class HealthVerdicts implements HealthView {
  private readonly verdicts = new Map<string, "passing" | "failing">();

  of(id: string): ServiceHealth {
    return this.verdicts.get(id) ?? "unknown";
  }

  /** @internal the health checker's */
  set(id: string, verdict: "passing" | "failing"): void {
    this.verdicts.set(id, verdict);
  }

  /** @internal the health checker's: the service is gone or no longer declares a check. */
  forget(id: string): void {
    this.verdicts.delete(id);
  }
}

/** This node's verdict on a service; `unknown` without a health checker. */
export function healthOf(id: string, view: HealthView | undefined): ServiceHealth {
  return view ? view.of(id) : "unknown";
}

/** A shared record (a change on the feed) as read, with this node's verdict: a copy, since others hold it too. */
export function withHealth(record: ServiceRecord, view: HealthView | undefined): ServiceRecord {
  return { ...record, health: healthOf(record.id, view) };
}
