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
  /** Changes with every verdict that changes (readers that keep a listing know it may read differently now). */
  readonly version?: number;
}

export type VerdictListener = (id: string, verdict: "passing" | "failing" | null) => void;

export class HealthVerdicts implements HealthView {
  private readonly verdicts = new Map<string, "passing" | "failing">();
  private readonly listeners = new Set<VerdictListener>();
  private changes = 0;

  get version(): number {
    return this.changes;
  }

  of(id: string): ServiceHealth {
    return this.verdicts.get(id) ?? "unknown";
  }

  /** Told every change this instance's health checker makes (a cluster shares them with the other instances). */
  observe(listener: VerdictListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal the health checker's */
  set(id: string, verdict: "passing" | "failing"): void {
    if (this.verdicts.get(id) === verdict) return;
    this.verdicts.set(id, verdict);
    this.changes++;
    for (const listener of this.listeners) listener(id, verdict);
  }

  /** @internal the health checker's: the service is gone or no longer declares a check. */
  forget(id: string): void {
    if (!this.verdicts.delete(id)) return;
    this.changes++;
    for (const listener of this.listeners) listener(id, null);
  }

  /** A verdict another instance's health checker reached (a cluster has one checker, on the leader): not re-announced. */
  adopt(id: string, verdict: "passing" | "failing" | null): void {
    if (verdict === null) this.verdicts.delete(id);
    else this.verdicts.set(id, verdict);
    this.changes++;
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
