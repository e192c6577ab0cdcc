/**
 * @module registry-view
 * The watcher's local copy of the registry: a snapshot replaces it, events update it, and the highest
 * revision seen guards against applying anything twice (a resume may overlap what was already seen).
 * Pure state, no I/O, so that the rules are tested on their own.
 */
import { matchesFilter, type EventMessage, type ServiceFilter, type ServiceRecord } from "@kai/protocol";

/**
 * The view's key of a record: its id, or `id@origin` for a record imported from a federation peer (two
 * nodes may each have a service with the same id).
 */
export function viewKey(service: Pick<ServiceRecord, "id" | "origin">): string {
  return service.origin === undefined ? service.id : `${service.id}@${service.origin}`;
}

export class RegistryView {
  readonly services = new Map<string, ServiceRecord>();
  revision: number;

  constructor(
    private readonly filter: ServiceFilter,
    revision = 0,
  ) {
    this.revision = revision;
  }

  /** A snapshot is the whole truth at its revision, even if that is below what we had (a restored server). */
  applySnapshot(revision: number, services: readonly ServiceRecord[]): void {
    this.services.clear();
    for (const service of services) this.services.set(viewKey(service), service);
    this.revision = revision;
  }

  /** Applies one event; returns false (and changes nothing) for a revision already applied. */
  applyEvent(message: EventMessage): boolean {
    // Remote changes (from federation peers) carry this node's current revision without advancing it, and are
    // never replayed, so the revision guard does not apply to them.
    const remote = message.origin !== undefined;
    if (!remote && message.revision <= this.revision) return false;
    const { service, serviceId } = message;
    // A service leaves the view when it is gone, when we may no longer see it (the server then sends no
    // state at all), or when it changed so that it no longer matches our filter.
    const leaves =
      message.event === "deregistered" || message.reason === "hidden" || service === undefined || !matchesFilter(service, this.filter);
    if (leaves) this.services.delete(viewKey({ id: serviceId, ...(remote ? { origin: message.origin } : {}) }));
    else this.services.set(viewKey(service), service);
    if (!remote) this.revision = message.revision;
    return true;
  }

  /** `progress` and `resumed` say "nothing for you up to here": move the resume point forward. */
  advanceTo(revision: number): void {
    if (revision > this.revision) this.revision = revision;
  }
}
