/**
 * @module gateway/router/service-stats
 * The router's live knowledge of each service: requests in flight, EWMA latency, counts, its circuit
 * breaker, its `Retry-After` cooldown and its RPM/TPM windows. Strategies read it, the executor writes
 * it, and `/metrics` and status pages query it through `snapshot()`.
 *
 * RPM and TPM are judged here, in memory, on a single instance. When the node runs as several instances the
 * table is given the node's shared windows (`shared`): the executor then asks those before each attempt
 * (cluster/limits/service-windows.ts), and this table judges only what stays per instance (concurrency).
 * The in-memory windows keep counting either way: they are this instance's share in `snapshot()`.
 */
import type { ServiceRecord } from "@kai/protocol";
import { CircuitBreaker, type BreakerOptions, type BreakerState } from "./circuit-breaker.js";
import { SlidingWindow } from "./sliding-window.js";
import type { SharedServiceWindows } from "../../cluster/limits/service-windows.js";

export interface ServiceRuntime {
  readonly serviceId: string;
  inFlight: number;
  /** Exponentially weighted moving average of upstream latency, ms; undefined until the first answer. */
  ewmaLatencyMs: number | undefined;
  requests: number;
  failures: number;
  /** Until when (ms since epoch) the service is skipped because it asked us to wait (429 / Retry-After). */
  cooldownUntil: number;
  readonly breaker: CircuitBreaker;
  readonly requestWindow: SlidingWindow;
  readonly tokenWindow: SlidingWindow;
  /** Smooth weighted round-robin's running weight (nginx's algorithm). */
  rrWeight: number;
}

/** A queryable copy of one service's runtime state. */
export interface ServiceStats {
  readonly serviceId: string;
  readonly inFlight: number;
  readonly ewmaLatencyMs: number | null;
  readonly requests: number;
  readonly failures: number;
  readonly breaker: BreakerState;
  /** Ms until the cooldown or the open breaker ends; 0 when neither holds the service back. */
  readonly retryAfterMs: number;
  readonly requestsLastMinute: number;
  readonly tokensLastMinute: number;
}

/** Why a service at its own limit was skipped, and when it frees up. */
export interface LimitVerdict {
  readonly limit: "rpm" | "tpm" | "concurrency";
  readonly waitMs: number;
}

export class ServiceStatsTable {
  private readonly runtimes = new Map<string, ServiceRuntime>();

  constructor(
    private readonly breakerOptions: BreakerOptions,
    private readonly alpha: number,
    private readonly onBreakerChange: (serviceId: string, from: BreakerState, to: BreakerState) => void,
    /** The node-wide RPM/TPM windows (several instances); absent on a single instance. */
    readonly shared?: SharedServiceWindows,
  ) {}

  get(serviceId: string): ServiceRuntime {
    let runtime = this.runtimes.get(serviceId);
    if (!runtime) {
      runtime = {
        serviceId,
        inFlight: 0,
        ewmaLatencyMs: undefined,
        requests: 0,
        failures: 0,
        cooldownUntil: 0,
        breaker: new CircuitBreaker(this.breakerOptions, (from, to) => this.onBreakerChange(serviceId, from, to)),
        requestWindow: new SlidingWindow(),
        tokenWindow: new SlidingWindow(),
        rrWeight: 0,
      };
      this.runtimes.set(serviceId, runtime);
    }
    return runtime;
  }

  peek(serviceId: string): ServiceRuntime | undefined {
    return this.runtimes.get(serviceId);
  }

  /** Forgets a removed service (a re-registration under the same id starts clean). */
  delete(serviceId: string): void {
    this.runtimes.delete(serviceId);
  }

  recordLatency(runtime: ServiceRuntime, latencyMs: number): void {
    runtime.ewmaLatencyMs = runtime.ewmaLatencyMs === undefined ? latencyMs : this.alpha * latencyMs + (1 - this.alpha) * runtime.ewmaLatencyMs;
  }

  /**
   * Null when the service may take one more request under its `rateLimit`; otherwise which limit and for how long.
   * With shared windows only concurrency is judged here (RPM/TPM are asked of the shared windows before sending).
   */
  limitVerdict(record: Pick<ServiceRecord, "rateLimit">, runtime: ServiceRuntime, now: number): LimitVerdict | null {
    const limits = record.rateLimit;
    if (!limits) return null;
    if (limits.concurrency !== undefined && runtime.inFlight >= limits.concurrency) return { limit: "concurrency", waitMs: 1000 };
    if (this.shared) return null;
    if (limits.rpm !== undefined) {
      const waitMs = runtime.requestWindow.waitUntilBelow(limits.rpm, now);
      if (waitMs > 0) return { limit: "rpm", waitMs };
    }
    if (limits.tpm !== undefined) {
      const waitMs = runtime.tokenWindow.waitUntilBelow(limits.tpm, now);
      if (waitMs > 0) return { limit: "tpm", waitMs };
    }
    return null;
  }

  snapshot(now: number): ServiceStats[] {
    return [...this.runtimes.values()].map((runtime) => ({
      serviceId: runtime.serviceId,
      inFlight: runtime.inFlight,
      ewmaLatencyMs: runtime.ewmaLatencyMs ?? null,
      requests: runtime.requests,
      failures: runtime.failures,
      breaker: runtime.breaker.state(now),
      retryAfterMs: Math.max(runtime.breaker.retryAfterMs(now), runtime.cooldownUntil - now, 0),
      requestsLastMinute: runtime.requestWindow.total(now),
      tokensLastMinute: runtime.tokenWindow.total(now),
    }));
  }
}
