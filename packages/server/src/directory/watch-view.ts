/**
 * @module directory/watch-view
 * What one watch subscriber sees of a change, as pure functions: which source a filter asks for (this
 * node's records, imported ones, or both), whether a local change is in the subscriber's view (or just left
 * it), and each change encoded once for every subscriber that receives it.
 */
import { matchesFilter, type ServiceFilter } from "@kai/protocol";
import type { Change } from "../registry/change-feed.js";
import { withHealth, type HealthView } from "../registry/health-verdicts.js";
import { canSee, type Viewer } from "../storage/contracts/viewer.js";

/** Does the subscription include records imported from peers? (`origin` names a peer: only imported origins are watched.) */
export function wantsRemote(filter: ServiceFilter): boolean {
  return filter.location === "remote" || filter.location === "all" || filter.origin !== undefined;
}

/** Does it include this node's own records? */
export function wantsLocal(filter: ServiceFilter): boolean {
  return filter.location !== "remote" && filter.origin === undefined;
}

/** The filter without the location members, which only choose the source. */
export function sourceFilter(filter: ServiceFilter): ServiceFilter {
  const { location: _location, origin: _origin, ...rest } = filter;
  return rest;
}

/** What a change means to one subscriber: the normal event, the "hidden" notice, or nothing. */
export function classify(viewer: Viewer, filter: ServiceFilter, change: Change): "normal" | "hidden" | null {
  const { event, previous } = change;
  const service = event.service;
  if (event.event === "deregistered") return canSee(viewer, service) && matchesFilter(service, filter) ? "normal" : null;
  const visibleNow = canSee(viewer, service);
  if (visibleNow && matchesFilter(service, filter)) return "normal";
  const inViewBefore = previous !== null && canSee(viewer, previous) && matchesFilter(previous, filter);
  if (!inViewBefore) return null;
  // It left the subscriber's view: by filter (it may still see the record, which no longer matches), or by visibility.
  return visibleNow ? "normal" : "hidden";
}

/**
 * Serialises each change at most once per variant, to a Buffer, however many subscribers receive it:
 * with a thousand watchers, encoding per socket would cost more than the sends themselves. The record goes
 * out as reads show it, with the health verdict as it is when the event is encoded.
 */
export class EncodedChange {
  private normal?: Buffer;
  private hidden?: Buffer;
  constructor(
    private readonly change: Change,
    private readonly health: HealthView | undefined,
  ) {}

  get(kind: "normal" | "hidden"): Buffer {
    const { event } = this.change;
    if (kind === "normal") {
      this.normal ??= Buffer.from(
        JSON.stringify({ type: "event", event: event.event, revision: event.revision, serviceId: event.service.id, service: withHealth(event.service, this.health) }),
      );
      return this.normal;
    }
    this.hidden ??= Buffer.from(JSON.stringify({ type: "event", event: event.event, revision: event.revision, serviceId: event.service.id, reason: "hidden" }));
    return this.hidden;
  }

  /** The same event for named subscriptions of one connection: the encoded body once, their ids in front. */
  forSubscriptions(kind: "normal" | "hidden", ids: readonly string[]): Buffer {
    return withSubscriptions(this.get(kind), ids);
  }
}

/**
 * An encoded event message with a `subscriptions` member added in front: `{"subscriptions":[…],` and the message
 * after its opening brace. Ids are validated names (no escaping needed beyond JSON.stringify's), and the rest of
 * the message is reused as bytes rather than serialised again for each connection.
 */
export function withSubscriptions(encoded: Buffer, ids: readonly string[]): Buffer {
  const head = Buffer.from(`{"subscriptions":${JSON.stringify(ids)},`);
  return Buffer.concat([head, encoded.subarray(1)], head.length + encoded.length - 1);
}
