/**
 * @module metrics/node-activity
 * The last hour of what this instance's gateway did, kept in memory for people to read as JSON (the web app's
 * overview and service pages, through `/api/metrics/summary` and `/api/services/{id}/activity`): calls, failures and
 * latency per minute (node-wide, by capability, by service), each service's recent errors, breaker changes and
 * health-check verdicts. Prometheus keeps the long history; this answers "what is happening now" without one.
 *
 * Fed by the router's observer (metrics/gateway-observer.ts, after the fact on a microtask) and by the health
 * checker's verdicts; the router's live per-service state (breaker now, in flight, smoothed latency) is read from
 * it when asked (`attachRuntime`). Memory is bounded: at most `maxServices` services are followed (the least
 * recently active are forgotten first), each keeps 60 minute slots and short rings of events.
 */
import type { BreakerStateName, MetricsSummary, RecentError, ServiceActivity, ServiceHealth } from "@kai/protocol";
import type { ServiceStats } from "../gateway/router/service-stats.js";
import type { BreakerEvent, ResultEvent } from "../gateway/router/router-types.js";
import { MinuteWindow, TrafficSum, WINDOW_MINUTES } from "./minute-window.js";

const RECENT_ERRORS = 20;
const HISTORY = 50;
const TOP_SERVICES = 50;

/** A ring that keeps the latest `size` items. */
class Latest<T> {
  private readonly items: T[] = [];
  constructor(private readonly size: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.size) this.items.shift();
  }
  oldestFirst(): T[] {
    return [...this.items];
  }
  newestFirst(): T[] {
    return [...this.items].reverse();
  }
}

interface ServiceTrack {
  readonly traffic: MinuteWindow;
  readonly errors: Latest<RecentError>;
  readonly breakerChanges: Latest<{ at: string; from: BreakerStateName; to: BreakerStateName }>;
  readonly health: Latest<{ at: string; health: ServiceHealth }>;
}

/** The part of a service's activity this module knows; the route adds the record's status and health. */
export type ServiceActivityMeasured = Omit<ServiceActivity, "status" | "health">;

export class NodeActivity {
  private readonly total = new MinuteWindow();
  private readonly capabilities = new Map<string, MinuteWindow>();
  private readonly services = new Map<string, ServiceTrack>();
  private readonly errors = new Latest<RecentError>(RECENT_ERRORS);
  private inFlight = 0;
  /** The health checker's verdict per checked service, for the summary's counts. */
  private readonly verdicts = new Map<string, "passing" | "failing">();
  private runtime: () => readonly ServiceStats[] = () => [];

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxServices = 10_000,
  ) {}

  /** Where the router's live per-service state is read (server.ts wires the capability router). */
  attachRuntime(source: () => readonly ServiceStats[]): void {
    this.runtime = source;
  }

  /** An upstream call started. */
  recordAttempt(): void {
    this.inFlight += 1;
  }

  /** An upstream call ended: counted in its minute; a failure also among the recent errors. */
  recordResult(event: ResultEvent): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const now = this.now();
    const error = event.outcome === "error";
    // A cancelled call counts as a call but its time is the caller's, not the service's.
    const latency = event.outcome === "cancelled" ? undefined : event.latencyMs;
    this.total.record(now, error, latency);
    let capability = this.capabilities.get(event.capability);
    if (!capability) this.capabilities.set(event.capability, (capability = new MinuteWindow()));
    capability.record(now, error, latency);
    const track = this.track(event.serviceId);
    track.traffic.record(now, error, latency);
    if (error) {
      const entry: RecentError = {
        at: new Date(now).toISOString(),
        serviceId: event.serviceId,
        code: event.code ?? "upstream_error",
        capability: event.capability,
        operation: event.operation,
        latencyMs: Math.max(0, Math.round(event.latencyMs * 100) / 100),
        ...(event.model !== undefined ? { model: event.model } : {}),
        ...(event.requestId !== undefined ? { requestId: event.requestId } : {}),
      };
      track.errors.push(entry);
      this.errors.push(entry);
    }
  }

  recordBreaker(event: BreakerEvent): void {
    this.track(event.serviceId).breakerChanges.push({ at: new Date(this.now()).toISOString(), from: event.from, to: event.to });
  }

  /** A change of the health checker's verdict (`null`: the service no longer has one). */
  recordHealth(serviceId: string, verdict: "passing" | "failing" | null): void {
    if (verdict === null) this.verdicts.delete(serviceId);
    else this.verdicts.set(serviceId, verdict);
    this.track(serviceId).health.push({ at: new Date(this.now()).toISOString(), health: verdict ?? "unknown" });
  }

  summary(): MetricsSummary {
    const now = this.now();
    this.forgetQuiet(now);
    const current = this.total.sumInto(new TrafficSum(), now, 2).totals();
    const windowSeconds = Math.max(1, Math.round(60 + (now % 60_000) / 1000));
    const byCapability = [...this.capabilities].map(([capability, window]) => ({ capability, ...window.sumInto(new TrafficSum(), now).totals() }));
    const byService = [...this.services].map(([serviceId, track]) => ({ serviceId, ...track.traffic.sumInto(new TrafficSum(), now).totals() }));
    const busiest = <T extends { requests: number }>(list: T[]) => list.filter((entry) => entry.requests > 0).sort((a, b) => b.requests - a.requests);
    return {
      generatedAt: new Date(now).toISOString(),
      scope: "instance",
      windowMinutes: WINDOW_MINUTES,
      now: { ...current, windowSeconds, inFlight: this.inFlight },
      lastHour: { totals: this.total.sumInto(new TrafficSum(), now).totals(), minutes: this.total.minutes(now) },
      byCapability: busiest(byCapability),
      byService: busiest(byService).slice(0, TOP_SERVICES),
      health: this.healthCounts(),
      breakers: this.runtime()
        .filter((stats) => stats.breaker !== "closed")
        .map((stats) => ({ serviceId: stats.serviceId, state: stats.breaker, retryAfterMs: stats.retryAfterMs }))
        .sort((a, b) => (a.serviceId < b.serviceId ? -1 : 1)),
      recentErrors: this.errors.newestFirst(),
    };
  }

  /** One service's measured activity (empty history for a service that had no traffic here). */
  service(serviceId: string): ServiceActivityMeasured {
    const now = this.now();
    const track = this.services.get(serviceId);
    const stats = this.runtime().find((entry) => entry.serviceId === serviceId);
    const traffic = track?.traffic ?? new MinuteWindow();
    return {
      serviceId,
      generatedAt: new Date(now).toISOString(),
      scope: "instance",
      windowMinutes: WINDOW_MINUTES,
      healthHistory: track?.health.oldestFirst() ?? [],
      breaker: {
        state: stats?.breaker ?? "closed",
        retryAfterMs: stats?.retryAfterMs ?? 0,
        changes: track?.breakerChanges.oldestFirst() ?? [],
      },
      runtime: {
        inFlight: Math.max(0, stats?.inFlight ?? 0),
        ewmaLatencyMs: stats?.ewmaLatencyMs === null || stats?.ewmaLatencyMs === undefined ? null : Math.round(stats.ewmaLatencyMs * 100) / 100,
        requestsLastMinute: stats?.requestsLastMinute ?? 0,
        tokensLastMinute: stats?.tokensLastMinute ?? 0,
      },
      traffic: { totals: traffic.sumInto(new TrafficSum(), now).totals(), minutes: traffic.minutes(now) },
      recentErrors: track?.errors.newestFirst() ?? [],
    };
  }

  /** The service's track, made on first use; the least recently touched one goes when there are too many. */
  private track(serviceId: string): ServiceTrack {
    let track = this.services.get(serviceId);
    if (track) {
      // Map order is insertion order: moving it to the end keeps the least recently active first.
      this.services.delete(serviceId);
    } else {
      track = { traffic: new MinuteWindow(), errors: new Latest(RECENT_ERRORS), breakerChanges: new Latest(HISTORY), health: new Latest(HISTORY) };
      if (this.services.size >= this.maxServices) {
        const oldest = this.services.keys().next();
        if (!oldest.done) this.services.delete(oldest.value);
      }
    }
    this.services.set(serviceId, track);
    return track;
  }

  private healthCounts(): { passing: number; failing: number } {
    let passing = 0;
    for (const verdict of this.verdicts.values()) if (verdict === "passing") passing++;
    return { passing, failing: this.verdicts.size - passing };
  }

  /** Capabilities with no call in the window are dropped (services keep their event history until evicted). */
  private forgetQuiet(now: number): void {
    for (const [capability, window] of this.capabilities) if (window.quiet(now)) this.capabilities.delete(capability);
  }
}
